/**
 * `pump`: copy a stream or a file into a writable through a ring of pool blocks.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { finished, type Readable, type Writable } from 'node:stream';
import { raced } from '../abort.js';
import type { BufferPool } from '../pool/index.js';
import {
  abandonSource,
  classifySource,
  type OpenedFile,
  openFile,
  ReadableReader,
  takeReadable,
} from '../source/index.js';
import { checkObject, checkSignal, intOption, poolOption } from '../validate.js';
import { BlockRing } from './block-ring.js';
import { DEFAULT_BLOCK_SIZE } from './options.js';

/** Options of {@link pump}. Every option is optional. */
export interface PumpOptions {
  /** The pool the ring's blocks come from. @default getDefaultPool() */
  pool?: BufferPool;
  /** Abort: destroys source and destination, rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Bytes per block (and per write). @default 65536 */
  blockSize?: number;
  /** Blocks in the ring: how many writes may be in flight at once. @default 4 */
  blocks?: number;
  /** Call `destination.end()` after the last write and wait for 'finish'. @default true */
  end?: boolean;
}

/** What `pump` copies from: a Node `Readable`, a `FileHandle` (left open) or a file path. */
export type PumpSource = Readable | FileHandle | string | URL;

interface Reader {
  readInto(target: Buffer): Promise<number>;
  close(failed: boolean): Promise<void>;
}

function isWritable(value: unknown): value is Writable {
  const v = value as Partial<Writable> | null;
  return (
    typeof v?.write === 'function' && typeof v.end === 'function' && typeof v.on === 'function'
  );
}

function fileReader(file: OpenedFile): Reader {
  let position = file.position;
  return {
    async readInto(target) {
      const bytesRead = await file.read(target, 0, target.length, position);
      if (position !== null) position += bytesRead;
      return bytesRead;
    },
    close: () => file.close(),
  };
}

function streamReader(stream: Readable, blockSize: number): Reader {
  const reader = new ReadableReader(stream, blockSize);
  return {
    readInto: (target) => reader.readInto(target),
    close: async (failed) => reader.close(failed),
  };
}

/** Resolves once `stream` has emitted 'close' (or already has). */
function closed(stream: Writable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Wait for 'drain'; the listener is removed if the wait is abandoned. */
function drained(stream: Writable, failure: Promise<never>): Promise<void> {
  let onDrain = (): void => {};
  const drain = new Promise<void>((resolve) => {
    onDrain = resolve;
    stream.once('drain', onDrain);
  });
  return raced(drain, failure).finally(() => stream.removeListener('drain', onDrain));
}

/** The destination's 'finish', and one promise that rejects on its error / premature close or on abort. */
function watchDestination(
  destination: Writable,
  signal: AbortSignal | undefined,
): { finished: Promise<void>; failure: Promise<never>; dispose(): void } {
  let stopWatching = (): void => {};
  let onAbort = (): void => {};
  const finishedWriting = new Promise<void>((resolve, reject) => {
    stopWatching = finished(destination, { readable: false }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
  const failure = new Promise<never>((_, reject) => {
    finishedWriting.catch(reject);
    onAbort = () => reject(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  failure.catch(() => {});
  return {
    finished: finishedWriting,
    failure,
    dispose: () => {
      stopWatching();
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Read into ring blocks and write them until the source ends; resolves when all writes called back. */
async function copyThroughRing(
  reader: Reader,
  ring: BlockRing,
  destination: Writable,
  failure: Promise<never>,
  signal: AbortSignal | undefined,
): Promise<number> {
  let total = 0;
  // Set while the destination asked us to wait: the next block is read meanwhile (so reading
  // overlaps writing, as in stream.pipeline), and only the next write waits for 'drain'.
  let drain: Promise<void> | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const slot = await raced(ring.take(), failure);
    const buffer = slot.lease.buffer;
    // Losing this race is safe for files too: the failure path closes the reader before the ring
    // releases the block, and a file's close() stops or waits for the read writing into it.
    const n = await raced(reader.readInto(buffer), failure);
    if (n === 0) {
      ring.giveBack(slot);
      break;
    }
    if (drain !== undefined) {
      await drain;
      drain = undefined;
    }
    total += n;
    ring.send(slot);
    const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
    if (!destination.write(chunk, slot.onWritten)) {
      drain = drained(destination, failure);
      drain.catch(() => {}); // awaited before the next write; a failure is reported from there
    }
  }
  await raced(ring.idle(), failure);
  return total;
}

/**
 * Copy `source` to `destination` through a ring of `blocks` pool blocks and resolve with the bytes
 * copied. A file is read with `fs.read` straight into the blocks; a `Readable`'s chunks are
 * copied in (coalescing small chunks into full blocks). A block is reused only after the
 * destination's write callback for it fired, and after `write()` returns false the next write
 * waits for 'drain' (the next block is read meanwhile), so at most `blocks × blockSize` bytes are
 * in flight and nothing is allocated per chunk. Only the first block is waited for on a `'wait'`
 * pool; the others are leased when the pool has them at once, so many pumps on a small budget each
 * go on with the blocks they have instead of waiting for each other's.
 *
 * The destination must be done with a chunk when it calls back: true for `fs.WriteStream`,
 * sockets, HTTP responses and hashing writables, but not for a `PassThrough`/`Transform`, which
 * passes the same Buffer on to its readable side; use `stream.pipeline` for those.
 *
 * On failure (either side errors, abort) both streams are destroyed, as `stream.pipeline` does,
 * and every block is released once the destination has called back or closed.
 *
 * @throws {TypeError} for a source or destination of another kind, or bad options.
 * @throws {RangeError} for a non-positive `blockSize` / `blocks`.
 * @throws the source's or destination's error, or `signal.reason` on abort.
 * @example
 * ```ts
 * const bytes = await pump('big.bin', fs.createWriteStream('copy.bin'), { signal });
 * ```
 */
export async function pump(
  source: PumpSource,
  destination: Writable,
  options: PumpOptions = {},
): Promise<number> {
  checkObject('options', options);
  const pool = poolOption(options.pool);
  const signal = checkSignal(options.signal);
  const blockSize = intOption('options.blockSize', options.blockSize, DEFAULT_BLOCK_SIZE, {
    min: 1,
  });
  const count = intOption('options.blocks', options.blocks, 4, { min: 1 });
  const end = options.end ?? true;
  const input = classifySource(source, 'source', ['path', 'handle', 'readable']);
  if (!isWritable(destination)) throw new TypeError('destination must be a Writable');
  if (input.kind === 'readable') takeReadable(input.value);

  const watch = watchDestination(destination, signal);
  const ring = new BlockRing(pool, blockSize, count, signal);
  let reader: Reader | undefined;
  try {
    signal?.throwIfAborted();
    reader =
      input.kind === 'readable'
        ? streamReader(input.value, blockSize)
        : fileReader(await openFile(input.value, signal));
    const total = await copyThroughRing(reader, ring, destination, watch.failure, signal);
    if (end) {
      destination.end();
      await raced(watch.finished, watch.failure);
    }
    return total;
  } catch (err) {
    if (reader === undefined) abandonSource(input, err);
    await reader?.close(true).catch(() => {});
    reader = undefined;
    destination.destroy();
    // The destination may still read blocks whose write has not called back; it cannot once closed.
    await Promise.race([ring.idle(), closed(destination)]);
    throw err;
  } finally {
    watch.dispose();
    ring.close();
    await reader?.close(false);
  }
}
