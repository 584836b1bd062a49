export {
  type DropCacheOptions,
  type DropCacheResult,
  dropCache,
  type Residency,
  type ResidencyOptions,
  residency,
} from './cache.js';
export type { WriteChunk } from './chunks.js';
export {
  createNoCacheWriteStream,
  NoCacheWriteStream,
  type NoCacheWriteStreamOptions,
} from './no-cache-write-stream.js';
export {
  type CacheStrategy,
  DEFAULT_WINDOW_BYTES,
  type ResolvedStrategy,
  type WriteFileNoCacheOptions,
} from './options.js';
export { type ReadFileNoCacheOptions, readFileNoCache } from './read-file.js';
export {
  type KeptEntry,
  type SweepKeepReason,
  type SweepRemoveReason,
  type SweepResult,
  type SweepStaleOptions,
  type SweptEntry,
  sweepStale,
} from './sweep.js';
export { type WriteFileData, type WriteFileResult, writeFileNoCache } from './write-file.js';
