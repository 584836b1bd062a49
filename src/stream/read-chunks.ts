/**
 * `readChunks`: iterate a file in borrowed pool blocks.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { BufferPool, Lease } from '../pool/index.js';
import { classifySource, openFile } from '../source/index.js';
import { checkObject, checkSignal, intOption, poolOption } from '../validate.js';
import { DEFAULT_BLOCK_SIZE } from './options.js';

/** Options of {@link readChunks}. Every option is optional. */
export interface ReadChunksOptions {
  /** Bytes per chunk: the size of the one block that is reused. @default 65536 */
  blockSize?: number;
  /** The pool the block comes from. @default getDefaultPool() */
  pool?: BufferPool;
  /** Abort: the next iteration rejects with `signal.reason`; the block and file are released. */
  signal?: AbortSignal;
}

async function* chunksOf(
  source: string | URL | FileHandle,
  pool: BufferPool,
  blockSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  signal?.throwIfAborted();
  const file = await openFile(source, signal);
  let lease: Lease | undefined;
  try {
    lease = await pool.acquireAsync(blockSize, signal === undefined ? {} : { signal });
    const block = lease.buffer;
    let position = file.position;
    for (;;) {
      signal?.throwIfAborted();
      const bytesRead = await file.read(block, 0, block.length, position);
      if (bytesRead === 0) return;
      if (position !== null) position += bytesRead;
      yield bytesRead === block.length ? block : block.subarray(0, bytesRead);
    }
  } finally {
    lease?.release();
    await file.close();
  }
}

/**
 * Iterate a file (a path, or a `FileHandle` that is left open and read from offset 0) in chunks
 * read with `fs.read` into one pool block, for hashing or scanning without allocating.
 *
 * Each chunk is **borrowed**: it is a view of the same block and is valid only until the next
 * iteration step (the next read overwrites it) or the end of the loop (the block goes back to the
 * pool). Copy what you need to keep. Breaking out of the loop, throwing in it, or an abort releases
 * the block and closes the file.
 *
 * @throws {TypeError|RangeError} at once, for a bad source or option.
 * @throws (from the iteration) `fs` errors, `signal.reason` on abort, and
 * `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @example
 * ```ts
 * const hash = createHash('sha256');
 * for await (const chunk of readChunks('upload.bin')) hash.update(chunk);
 * ```
 */
export function readChunks(
  source: string | URL | FileHandle,
  options: ReadChunksOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  checkObject('options', options);
  classifySource(source, 'source', ['path', 'handle']);
  const pool = poolOption(options.pool);
  const signal = checkSignal(options.signal);
  const blockSize = intOption('options.blockSize', options.blockSize, DEFAULT_BLOCK_SIZE, {
    min: 1,
  });
  return chunksOf(source, pool, blockSize, signal);
}
