export { channels } from './debug.js';
export * from './decompress.js';
export * from './errors.js';
export * from './fs/index.js';
export * from './memory/index.js';
export * from './native/index.js';
export * from './pool/index.js';
export * from './read-all.js';
export * from './stream/index.js';
