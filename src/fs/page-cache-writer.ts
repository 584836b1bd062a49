/**
 * The engine behind the no-cache writers: sequential positioned writes plus the windowed
 * writeback that keeps the file's page cache bounded.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { ClosedError, UnsupportedError } from '../errors.js';
import type { LinuxBinding } from '../native/binding.js';
import { IOV_MAX } from '../native/syscalls.js';
import { refusedDontcache } from '../native/system-error.js';
import type { ResolvedStrategy } from './options.js';

/**
 * Writes buffers at increasing offsets and, for `'windowed'` and `'dontcache'`, bounds the cache.
 *
 * The file is cut into steps of half a window. When a step is complete, writeback of it is started
 * (`sync_file_range(WRITE)`) and the step before it is waited for
 * (`WAIT_BEFORE|WRITE|WAIT_AFTER`) and then dropped with `POSIX_FADV_DONTNEED`. That work runs in
 * the background while the next step is written (the rsync / PostgreSQL `flush_after` pattern):
 * waiting for the disk in line with the writes left both the disk and the writer idle half the
 * time. The writer only waits when it completes another step before the previous background job
 * is done, so at most three steps (1.5 windows) are cached at any time, and nothing is dropped
 * before it has been written back.
 */
export class PageCacheWriter {
  #fh: FileHandle;
  #strategy: ResolvedStrategy;
  #step: number;
  #b: LinuxBinding | null;
  #pos = 0;
  #started = 0;
  #dropped = 0;
  // The background writeback/drop job; it never rejects, it resolves to its error instead, so an
  // abandoned job cannot become an unhandled rejection.
  #job: Promise<unknown> | null = null;
  // Every call on the descriptor still running on the threadpool (pwritev2 reading a batch, a
  // sync_file_range or fadvise of finish() or of the background job). settle() waits for all of
  // them: closing the descriptor under one could let it reach a reused descriptor number, and
  // releasing a batch's leases under a pwritev2 would let the pool hand out memory it still reads.
  readonly #inflight = new Set<Promise<void>>();
  #settling = false;

  constructor(
    fh: FileHandle,
    strategy: ResolvedStrategy,
    windowBytes: number,
    binding: LinuxBinding | null,
  ) {
    this.#fh = fh;
    this.#strategy = strategy;
    // windowBytes is a multiple of 4096 and ≥ 64 KiB, so the step is whole pages: DONTNEED never
    // has to round a partial page away except at the end of the file.
    this.#step = Math.max(4096, Math.floor(windowBytes / 2 / 4096) * 4096);
    this.#b = binding;
  }

  /** The strategy in use. */
  get strategy(): ResolvedStrategy {
    return this.#strategy;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#pos;
  }

  /** Write all of `buffers` in order, advancing the writeback steps as they fill. */
  async write(buffers: readonly Uint8Array[]): Promise<void> {
    const bounded = this.#strategy !== 'none';
    let list = buffers.filter((b) => b.length > 0);
    while (list.length > 0) {
      // Stop each call at the next step boundary so that writeback of a step starts as soon as it
      // is complete, not after a large batch that spans several steps.
      const room = bounded
        ? (Math.floor(this.#pos / this.#step) + 1) * this.#step - this.#pos
        : Infinity;
      const batch: Uint8Array[] = [];
      let bytes = 0;
      for (const b of list) {
        if (batch.length === IOV_MAX || bytes >= room) break;
        const take = Math.min(b.length, room - bytes);
        batch.push(take === b.length ? b : b.subarray(0, take));
        bytes += take;
      }
      let n = await this.#writev(batch);
      this.#pos += n;
      // Drop what was written; a short write leaves the tail of one buffer for the next call.
      let i = 0;
      while (i < list.length && n > 0) {
        const len = (list[i] as Uint8Array).length;
        if (n >= len) {
          n -= len;
          i++;
        } else {
          list[i] = (list[i] as Uint8Array).subarray(n);
          n = 0;
        }
      }
      list = list.slice(i);
      if (bounded && this.#pos - this.#started >= this.#step) await this.#advance();
    }
  }

  /** Write back and drop everything still cached (after the last write, before fsync/close). */
  async finish(): Promise<void> {
    await this.#wait();
    if (this.#strategy === 'none') return;
    const b = this.#b as LinuxBinding;
    const c = b.constants;
    const from = this.#dropped;
    // length 0 = to the end of the file, so the last partial page is dropped too.
    const all =
      c.SYNC_FILE_RANGE_WAIT_BEFORE | c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER;
    await this.#call((fd) => b.syncFileRange(fd, from, 0, all));
    await this.#call((fd) => b.fadvise(fd, from, 0, c.POSIX_FADV_DONTNEED));
    this.#started = this.#pos;
    this.#dropped = this.#pos;
  }

  /**
   * Stop issuing calls and wait, without throwing, for every call on the descriptor still running
   * and for the background job. Call before closing the file or releasing the leases being
   * written on an error path; later calls reject with {@link ClosedError}.
   */
  async settle(): Promise<void> {
    this.#settling = true;
    await this.#job;
    this.#job = null;
    while (this.#inflight.size > 0) await Promise.all(this.#inflight);
  }

  /**
   * Run one native call on the descriptor, read at the call (never cached: after close it is -1),
   * tracked until it settles.
   * @throws {ClosedError} once {@link PageCacheWriter.settle} has begun.
   */
  async #call<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    if (this.#settling) throw new ClosedError('page-cache writer');
    const p = fn(this.#fh.fd);
    const done = p.then(
      () => {},
      () => {},
    );
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
    return p;
  }

  async #writev(batch: Uint8Array[]): Promise<number> {
    const b = this.#b;
    const pos = this.#pos;
    if (b === null) return this.#call(async () => (await this.#fh.writev(batch, pos)).bytesWritten);
    const flags = this.#strategy === 'dontcache' ? b.constants.RWF_DONTCACHE : 0;
    try {
      return await this.#call((fd) => b.pwritev2(fd, batch, pos, flags));
    } catch (e) {
      if (flags !== 0 && refusedDontcache(e)) {
        throw new UnsupportedError('RWF_DONTCACHE was refused by the filesystem', { cause: e });
      }
      throw e;
    }
  }

  /** Wait for the previous background job and rethrow its error. */
  async #wait(): Promise<void> {
    const job = this.#job;
    if (job === null) return;
    this.#job = null;
    const err = await job;
    if (err !== null) throw err;
  }

  /** A step (or more) is complete: start its writeback and drop the one before, in the background. */
  async #advance(): Promise<void> {
    // One job at a time: this is what bounds the cache to three steps.
    await this.#wait();
    const complete = Math.floor(this.#pos / this.#step) * this.#step;
    const start = this.#started;
    const drop = this.#dropped;
    const droppable = complete - this.#step;
    this.#started = complete;
    if (droppable > drop) this.#dropped = droppable;
    const b = this.#b as LinuxBinding;
    const c = b.constants;
    this.#job = (async () => {
      await this.#call((fd) =>
        b.syncFileRange(fd, start, complete - start, c.SYNC_FILE_RANGE_WRITE),
      );
      if (droppable > drop) {
        const all =
          c.SYNC_FILE_RANGE_WAIT_BEFORE | c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER;
        await this.#call((fd) => b.syncFileRange(fd, drop, droppable - drop, all));
        // Only after WAIT_AFTER: DONTNEED on pages still dirty would skip them, never lose them,
        // but the bound would not hold.
        await this.#call((fd) => b.fadvise(fd, drop, droppable - drop, c.POSIX_FADV_DONTNEED));
      }
      return null;
    })().catch((err: unknown) => err);
  }
}
