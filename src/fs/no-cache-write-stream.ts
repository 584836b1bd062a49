/**
 * A `Writable` file stream whose page cache stays bounded while it writes.
 *
 * @module
 */
import { Writable } from 'node:stream';
import { debug } from '../debug.js';
import { chunkBytes, releaseChunk, type WriteChunk } from './chunks.js';
import {
  chooseStrategy,
  type ResolvedStrategy,
  strategyFor,
  type WriteFileNoCacheOptions,
  type WriteSettings,
  writeSettings,
} from './options.js';
import { PageCacheWriter } from './page-cache-writer.js';
import { TargetFile } from './target-file.js';

/** Options of {@link createNoCacheWriteStream}. */
export interface NoCacheWriteStreamOptions extends WriteFileNoCacheOptions {
  /** Chunks (not bytes: the stream is in object mode) buffered before `write()` returns false. @default 16 */
  highWaterMark?: number;
}

/**
 * A file `Writable` in object mode that accepts Buffers, strings and pool leases (each lease is
 * released once written, when the stream is destroyed, or at once when the write is refused
 * because the stream has ended or been destroyed) and keeps its page cache bounded with
 * the chosen {@link CacheStrategy}. Create it with {@link createNoCacheWriteStream}.
 */
export class NoCacheWriteStream extends Writable {
  #path: string;
  #settings: WriteSettings;
  #target: TargetFile | null = null;
  #writer: PageCacheWriter | null = null;
  #committed = false;
  #leases = new Set<unknown>();
  #final: Promise<void> | null = null;

  constructor(path: string | URL, options: NoCacheWriteStreamOptions = {}) {
    const settings = writeSettings(path, options);
    super({ objectMode: true, highWaterMark: options.highWaterMark ?? 16 });
    this.#path = settings.path;
    this.#settings = settings;
    const signal = settings.signal;
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.destroy(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }

  /** The file's final path (a `file:` URL given to the constructor, as a path). */
  get path(): string {
    return this.#path;
  }

  /** The strategy in use (`null` until the file is open). */
  get strategy(): ResolvedStrategy | null {
    return this.#writer?.strategy ?? null;
  }

  /** Bytes written to the file so far. */
  get bytesWritten(): number {
    return this.#writer?.bytesWritten ?? 0;
  }

  // Leases are tracked from write() on so that those still queued when the stream is destroyed
  // are released too (the Writable drops its queue without telling us). A write after end() or
  // destroy() is refused by the Writable (ERR_STREAM_WRITE_AFTER_END / ERR_STREAM_DESTROYED) and
  // never reaches _writev nor _destroy: its lease is released here.
  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const refused = this.writableEnded || this.destroyed;
    if (!refused && chunk !== null && typeof chunk === 'object' && !(chunk instanceof Uint8Array)) {
      this.#leases.add(chunk);
    }
    try {
      return super.write(chunk, encoding as BufferEncoding, cb as (err?: Error | null) => void);
    } finally {
      if (refused) releaseChunk(chunk);
    }
  }

  override _construct(callback: (error?: Error | null) => void): void {
    const s = this.#settings;
    chooseStrategy(s.strategy, this.#path)
      .then(async ({ strategy, binding }) => {
        const target = await TargetFile.open(this.#path, s.atomic, s.mode);
        this.#target = target;
        const used = strategyFor(s.strategy, strategy, target.regular);
        this.#writer = new PageCacheWriter(target.handle, used, s.windowBytes, binding);
        debug('no-cache write %s: strategy %s', this.#path, used);
      })
      .then(() => callback(), callback);
  }

  override _writev(
    chunks: { chunk: WriteChunk; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    let buffers: Uint8Array[];
    try {
      buffers = chunks.map((c) => chunkBytes(c.chunk));
    } catch (err) {
      callback(err as Error);
      return;
    }
    (this.#writer as PageCacheWriter).write(buffers).then(() => {
      for (const c of chunks) this.#done(c.chunk);
      callback();
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const target = this.#target as TargetFile;
    const final = (this.#writer as PageCacheWriter)
      .finish()
      .then(() => target.commit(this.#settings.fsync))
      .then(() => {
        this.#committed = true;
      });
    // _destroy may run while this is still going: it waits for it before undoing the file.
    this.#final = final.catch(() => {});
    final.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Order matters: first every native call on the descriptor must have returned (a pwritev2 may
    // still be reading the leases of the batch being written, finish() may be between calls),
    // then the leases go back to the pool, then the descriptor is closed and the file removed.
    const settled = (this.#writer?.settle() ?? Promise.resolve()).then(() => this.#final);
    settled
      .then(async () => {
        for (const chunk of this.#leases) releaseChunk(chunk);
        this.#leases.clear();
        // A commit that completed meanwhile left the finished file in place: keep it.
        if (!this.#committed && this.#target !== null) await this.#target.abort();
      })
      .then(
        () => callback(error),
        (err: unknown) => callback(error ?? (err as Error)),
      );
  }

  #done(chunk: unknown): void {
    releaseChunk(chunk);
    this.#leases.delete(chunk);
  }
}

/**
 * Open a file for writing with a bounded page cache. Strategy `'auto'` uses `RWF_DONTCACHE` where
 * the filesystem takes it, else windowed writeback + `POSIX_FADV_DONTNEED`; without the native
 * addon it writes normally (one `SLABIO_NO_NATIVE` warning).
 *
 * On error or `destroy()` the partial file (the temp file with `atomic`) is removed and every
 * queued lease is released.
 *
 * @throws {TypeError|RangeError} for bad options (synchronously), naming the option.
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` (as an `'error'` event) for a forced strategy
 * the filesystem or platform cannot do.
 * @throws {DestinationError} `ERR_SLABIO_DESTINATION` (as an `'error'` event, `reason:
 * 'not-file'`) with `atomic` when `path`, after its symbolic links, is not a regular file.
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * await pipeline(source, createNoCacheWriteStream('out.bin', { atomic: true }));
 * ```
 */
export function createNoCacheWriteStream(
  path: string | URL,
  options: NoCacheWriteStreamOptions = {},
): NoCacheWriteStream {
  return new NoCacheWriteStream(path, options);
}
