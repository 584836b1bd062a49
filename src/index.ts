export { channels } from './debug.js';
export * from './errors.js';
