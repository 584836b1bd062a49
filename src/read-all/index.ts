/**
 * Bounded `readAll`: read a whole stream, iterable or file into one pooled lease.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { debug } from '../debug.js';
import type { Lease } from '../pool/index.js';
import {
  abandonSource,
  chunksOf,
  classifySource,
  declaredLength,
  openFile,
  takeReadable,
} from '../source/index.js';
import { BlockWriter } from './block-writer.js';
import type { ChunkList } from './chunk-list.js';
import { drainFile } from './from-file.js';
import { drainIterator } from './from-iterable.js';
import {
  type ReadAllOptions,
  type ResolvedReadAllOptions,
  resolveReadAllOptions,
} from './options.js';
import { drainStream } from './stream-drain.js';

export { ChunkList } from './chunk-list.js';
export type { ReadAllOptions } from './options.js';

/**
 * What `readAll` reads: a Node `Readable` (an `http.IncomingMessage`, a socket, `fs.ReadStream`,
 * `Readable.from(...)`), any async iterable of bytes or strings, a web `ReadableStream`, a
 * `FileHandle` (read from offset 0 for regular files, left open), or a file path.
 */
export type ReadAllSource =
  | Readable
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array | string>
  | ReadableStream<Uint8Array | string>
  | WebReadableStream<Uint8Array | string>
  | FileHandle
  | string
  | URL;

const READ_ALL_KINDS = ['path', 'handle', 'readable', 'web', 'iterable'] as const;

/** Run one read to its end and hand the writer to `finish`; on any failure release and stop. */
async function collect<T>(
  value: unknown,
  options: ReadAllOptions | undefined,
  finish: (writer: BlockWriter) => T | Promise<T>,
): Promise<T> {
  const opts = resolveReadAllOptions(options);
  const source = classifySource(value, 'source', READ_ALL_KINDS);
  if (source.kind === 'path' || source.kind === 'handle') {
    return collectFile(source.value, opts, finish);
  }
  if (source.kind === 'readable') takeReadable(source.value);
  const { pool, maxBytes, signal } = opts;
  const declared =
    opts.lengthHint ?? (source.kind === 'readable' ? declaredLength(source.value) : undefined);
  const writer = new BlockWriter({ pool, maxBytes, declared, signal });
  let draining = false;
  try {
    signal?.throwIfAborted();
    // Leasing the first block may wait (a declared length on a 'wait' pool). A stream the caller
    // already set flowing would emit 'data' meanwhile with nobody storing it; paused, it buffers.
    // The drain resumes it.
    if (source.kind === 'readable') source.value.pause();
    await writer.start();
    draining = true;
    // Node streams through their 'data' events (read() would concatenate buffered chunks); the
    // rest through one iterator. Each drain stops its source on its own failures.
    if (source.kind === 'readable') await drainStream(source.value, writer, signal);
    else await drainIterator(chunksOf(source), writer, signal);
    // An abort that raced the source's end still wins: the caller asked to stop before we settled.
    signal?.throwIfAborted();
    return await finish(writer);
  } catch (err) {
    writer.close();
    debug('readAll failed after %d bytes: %s', writer.bytesRead, (err as Error)?.message);
    if (!draining) abandonSource(source, err);
    throw err;
  }
}

async function collectFile<T>(
  source: string | URL | FileHandle,
  opts: ResolvedReadAllOptions,
  finish: (writer: BlockWriter) => T | Promise<T>,
): Promise<T> {
  const { pool, maxBytes, signal } = opts;
  signal?.throwIfAborted();
  const file = await openFile(source, signal);
  const declared = opts.lengthHint ?? file.size;
  const writer = new BlockWriter({ pool, maxBytes, declared, signal });
  try {
    await writer.start();
    await drainFile(file, writer, declared, opts.lengthHint !== undefined, signal);
    signal?.throwIfAborted();
    return await finish(writer);
  } catch (err) {
    writer.close();
    throw err;
  } finally {
    await file.close();
  }
}

/**
 * Read a whole source into one pooled lease of exactly its length.
 *
 * With a known length (`lengthHint`, a file's `fstat` size, an `IncomingMessage`'s
 * `content-length`) one block of that size is leased and filled in place. Without one, blocks are
 * filled class by class (never doubling one buffer; each new block is at most a quarter of what is
 * held, so memory held stays within 1.25 × the bytes read plus one block) and copied once into the
 * result at the end. Release the lease when done (`using` does it).
 *
 * On every failure (source error, abort, limit, length mismatch) all blocks go back to the pool
 * and the source is destroyed; an `IncomingMessage` that hit the limit or its declared length is
 * paused instead, so the handler can still answer 413 — answer with `connection: close` so Node
 * closes the socket instead of waiting for the rest of the upload.
 *
 * On a `'wait'` pool concurrent reads never wait for each other forever: when every byte in use
 * is held by reads (and other holders) waiting for more, the youngest rejects with
 * `ERR_SLABIO_POOL_EXHAUSTED` and its blocks go back; any other wait ends after the pool's
 * `waitTimeoutMs`. An unknown-length read needs about 2.5 × its bytes of budget at its peak (the
 * blocks plus the final copy), a known-length read its one block.
 *
 * A path to a FIFO or character device (a terminal, `/dev/stdin` on a pipe) is opened without
 * waiting for a writer, and its reads wait on the event loop, never in one of libuv's thread-pool
 * threads: an abort ends the wait at once, releasing the blocks and closing the descriptor.
 * Without a signal the read ends when the last writer closes; a FIFO that never had a writer
 * waits for one, as `cat` would. A caller's `FileHandle` on one keeps its blocking mode: an abort
 * still settles at once, but the read it started stays in a thread until data or the end comes.
 *
 * @param source A `Readable`, async iterable, web `ReadableStream`, `FileHandle` or path.
 * @param options See {@link ReadAllOptions}.
 * @throws {TypeError} for a source of another kind, bad options, or a chunk that is not bytes or a string.
 * @throws {RangeError} for an out-of-range option, naming it.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` past `maxBytes` (declared or read).
 * @throws {LengthMismatchError} `ERR_SLABIO_LENGTH_MISMATCH` when the source is shorter or longer than declared.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @throws the source's own error, or `signal.reason` on abort.
 * @example
 * ```ts
 * import { LimitExceededError, readAll } from 'slabio';
 * http.createServer(async (req, res) => {
 *   try {
 *     using body = await readAll(req, { maxBytes: 1 << 20 });
 *     res.end(`got ${body.buffer.length} bytes`);
 *   } catch (err) {
 *     if (!(err instanceof LimitExceededError)) throw err;
 *     res.writeHead(413, { connection: 'close' }).end();
 *   }
 * });
 * ```
 */
export function readAll(source: ReadAllSource, options?: ReadAllOptions): Promise<Lease> {
  return collect(source, options, (writer) => writer.toLease());
}

/**
 * Like {@link readAll}, but return the filled blocks as a {@link ChunkList} without the final copy:
 * for `writev`, hashing or parsing across chunks. With a known length the list has one chunk.
 *
 * @throws the same as {@link readAll}.
 * @example
 * ```ts
 * using body = await readAllChunks(req, { maxBytes: 64 << 20 });
 * const hash = createHash('sha256');
 * for (const chunk of body.chunks) hash.update(chunk);
 * ```
 */
export function readAllChunks(source: ReadAllSource, options?: ReadAllOptions): Promise<ChunkList> {
  return collect(source, options, (writer) => writer.toChunks());
}

/**
 * Read a file into one lease: `readAll` of a path or `FileHandle`, with `fs.read` going straight
 * into a block of the file's `fstat` size (no stream, no intermediate Buffer). Like `fs.readFile`
 * it reads the size found at open; a file that shrinks meanwhile rejects with
 * `ERR_SLABIO_LENGTH_MISMATCH`, as does one that differs from an explicit `lengthHint`. FIFOs,
 * `/proc` files and devices have no size and are read to their end; an abort ends a read that
 * waits on a FIFO or device (see {@link readAll}).
 *
 * @throws {TypeError} (rejects) when `path` is not a string, URL or FileHandle; otherwise as {@link readAll}
 * plus the `fs` errors of `open`/`read` (`ENOENT`, `EISDIR`, ...).
 * @example
 * ```ts
 * using image = await readFilePooled('input.png', { maxBytes: 20 << 20 });
 * await sharp(image.buffer).resize(200).toFile('thumb.png');
 * ```
 */
export function readFilePooled(
  path: string | URL | FileHandle,
  options?: ReadAllOptions,
): Promise<Lease> {
  try {
    classifySource(path, 'path', ['path', 'handle']);
  } catch (err) {
    return Promise.reject(err);
  }
  return readAll(path, options);
}
