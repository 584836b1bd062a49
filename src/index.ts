export { channels } from './debug.js';
export * from './errors.js';
export * from './fs/index.js';
export * from './native/index.js';
export * from './pool/index.js';
