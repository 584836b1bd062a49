/**
 * Defaults of the stream helpers. Internal.
 *
 * @module
 */

/** Default block size of `pump` and `readChunks`: fs streams' default highWaterMark. */
export const DEFAULT_BLOCK_SIZE = 64 * 1024;
