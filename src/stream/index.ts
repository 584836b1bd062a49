export { type PumpOptions, type PumpSource, pump } from './pump.js';
export { type ReadChunksOptions, readChunks } from './read-chunks.js';
