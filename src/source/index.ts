/**
 * Sources: what an input is, how to read it as chunks or into buffers, and how to let go of it.
 * Every reader (`readAll`, `pump`, `readChunks`, decompression, zip, the no-cache file readers)
 * recognises its input here, so one kind is read and closed the same way everywhere. Internal.
 *
 * @module
 */
export { copyBytes, isChunk, notChunkError, toBytes } from './chunks.js';
export {
  abandonSource,
  absorbSourceErrors,
  bytesOf,
  chunksOf,
  classifySource,
  type Source,
  type SourceKind,
  type StreamSource,
} from './classify.js';
export { closeFd, FILE_READ_BYTES, openPath } from './fd-calls.js';
export { FileReadable } from './file-readable.js';
export { abandonIterator, iteratorOf, type SourceChunks } from './iterate.js';
export { isFileHandle, type OpenedFile, openFile } from './open-file.js';
export { checkFlowable, declaredLength, stopStream, takeReadable } from './readable.js';
export { ReadableReader } from './readable-reader.js';
export { absorbErrors, isPrematureClose, onEnd } from './stream-end.js';
export type { WebStream } from './web-chunks.js';
