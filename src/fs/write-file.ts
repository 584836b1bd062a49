/**
 * Write a whole file with a bounded page cache.
 *
 * @module
 */
import { abortRace, raced } from '../abort.js';
import { abandonIterator, absorbSourceErrors, iteratorOf } from '../source/index.js';
import { chunkBytes, releaseChunk, type WriteChunk } from './chunks.js';
import {
  chooseStrategy,
  type ResolvedStrategy,
  strategyFor,
  type WriteFileNoCacheOptions,
  writeSettings,
} from './options.js';
import { PageCacheWriter } from './page-cache-writer.js';
import { TargetFile } from './target-file.js';

/** What {@link writeFileNoCache} accepts. */
export type WriteFileData = WriteChunk | Iterable<WriteChunk> | AsyncIterable<WriteChunk>;

/** The result of {@link writeFileNoCache}. */
export interface WriteFileResult {
  /** Bytes written. */
  bytesWritten: number;
  /** The strategy that was used. */
  strategy: ResolvedStrategy;
}

function isIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  return v !== null && typeof v === 'object' && (Symbol.iterator in v || Symbol.asyncIterator in v);
}

// Collect up to this many bytes of small chunks into one pwritev2 call.
const BATCH_BYTES = 1 << 20;

/**
 * Write `data` to `path` (a path or a `file:` URL) keeping the page cache it causes bounded (see `createNoCacheWriteStream`
 * for the strategies). `data` is a Buffer/Uint8Array, a string, a pool lease, or an (async)
 * iterable of those; every lease passed in is released, on success and on failure.
 *
 * On any error or abort the partial file (the temp file with `atomic: true`) is removed and the
 * error propagates; with `atomic: true` an existing file at `path` is untouched.
 *
 * @default options `{ strategy: 'auto', windowBytes: 8 MiB, atomic: false, fsync: false }`
 * @throws {TypeError|RangeError} for bad arguments, naming the option.
 * @throws {DestinationError} `ERR_SLABIO_DESTINATION` (`reason: 'not-file'`) with `atomic: true`
 * when `path`, after its symbolic links, is a directory, device, FIFO or socket.
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` for a forced strategy that cannot work here,
 * or a non-atomic `path` that is a FIFO or socket (one without a reader fails with `ENXIO` at once).
 * @throws {Error} the kernel's error when a system call fails (`open`, `write`, `pwritev2`,
 * `sync_file_range`, `fsync`, `rename`, …), shaped as Node's fs errors: `code` `ENOSPC`, `EDQUOT`,
 * `ENOENT`, … whichever of them failed.
 * @example
 * ```ts
 * await writeFileNoCache('report.pdf', pdfLease, { atomic: true }); // releases the lease
 * ```
 */
export async function writeFileNoCache(
  path: string | URL,
  data: WriteFileData,
  options: WriteFileNoCacheOptions = {},
): Promise<WriteFileResult> {
  const pending = new Set<unknown>();
  const single = !isIterable(data) || data instanceof Uint8Array || typeof data === 'string';
  if (single) pending.add(data);
  else if (Array.isArray(data)) for (const c of data) pending.add(c);
  let target: TargetFile | null = null;
  let writer: PageCacheWriter | null = null;
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  let abort = abortRace(undefined);
  try {
    const s = writeSettings(path, options);
    // A Readable is iterated only once the file is open: its error must not find no listener.
    absorbSourceErrors(data);
    abort = abortRace(s.signal);
    const { strategy, binding } = await chooseStrategy(s.strategy, s.path);
    s.signal?.throwIfAborted();
    target = await TargetFile.open(s.path, s.atomic, s.mode);
    const used = strategyFor(s.strategy, strategy, target.regular);
    const w = new PageCacheWriter(target.handle, used, s.windowBytes, binding);
    writer = w;
    const source: Iterable<unknown> | AsyncIterable<unknown> = single
      ? [data]
      : (data as Iterable<unknown>);
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    let batchChunks: unknown[] = [];
    const flush = async (): Promise<void> => {
      // An abort need not wait for the disk: settle() below waits for the call in flight.
      await raced(w.write(batch), abort.promise);
      for (const c of batchChunks) {
        releaseChunk(c);
        pending.delete(c);
      }
      batch = [];
      batchBytes = 0;
      batchChunks = [];
    };
    iterator = iteratorOf(source, 'data');
    for (;;) {
      // A source stalled in next() (a peer that stopped sending) must not hold the abort back.
      const next = Promise.resolve(iterator.next());
      const step = await raced(next, abort.promise).catch((err: unknown) => {
        // A chunk that arrives after we gave up is nobody's: release it if it is a lease.
        next.then((late) => late.done !== true && releaseChunk(late.value)).catch(() => {});
        throw err;
      });
      if (step.done === true) break;
      const chunk: unknown = step.value;
      pending.add(chunk);
      s.signal?.throwIfAborted();
      const bytes = chunkBytes(chunk);
      batch.push(bytes);
      batchChunks.push(chunk);
      batchBytes += bytes.length;
      if (batchBytes >= BATCH_BYTES) await flush();
    }
    iterator = null;
    await flush();
    s.signal?.throwIfAborted();
    await raced(w.finish(), abort.promise);
    const t = target;
    target = null;
    try {
      await t.commit(s.fsync);
    } catch (err) {
      await t.abort();
      throw err;
    }
    return { bytesWritten: w.bytesWritten, strategy: w.strategy };
  } catch (err) {
    if (iterator !== null) abandonIterator(iterator, err);
    // Every native call on the descriptor (a pwritev2 still reading a batch, a background
    // writeback job) must finish before the descriptor is closed (and its number reused) and
    // before the batch's leases go back to the pool.
    if (writer !== null) await writer.settle();
    if (target !== null) await target.abort();
    throw err;
  } finally {
    abort.dispose();
    for (const c of pending) releaseChunk(c);
  }
}
