/**
 * The engine behind the no-cache writers: sequential positioned writes plus the windowed
 * writeback that keeps the file's page cache bounded.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { UnsupportedError } from '../errors.js';
import type { LinuxBinding } from '../native/binding.js';
import { IOV_MAX, toSystemError } from '../native/syscalls.js';
import type { ResolvedStrategy } from './options.js';

/**
 * Writes buffers at increasing offsets and, for `'windowed'` and `'dontcache'`, bounds the cache:
 * when a window of `windowBytes` is complete its writeback is started (`sync_file_range(WRITE)`);
 * the window before it is waited for (`WAIT_BEFORE|WRITE|WAIT_AFTER`) and then dropped with
 * `POSIX_FADV_DONTNEED`. At most about two windows are in the cache at any time, and nothing is
 * dropped before it has been written back.
 */
export class PageCacheWriter {
  #fh: FileHandle;
  #strategy: ResolvedStrategy;
  #window: number;
  #b: LinuxBinding | null;
  #pos = 0;
  #started = 0;
  #dropped = 0;

  constructor(
    fh: FileHandle,
    strategy: ResolvedStrategy,
    windowBytes: number,
    binding: LinuxBinding | null,
  ) {
    this.#fh = fh;
    this.#strategy = strategy;
    this.#window = windowBytes;
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

  /** Write all of `buffers` in order, then advance the writeback window. */
  async write(buffers: readonly Uint8Array[]): Promise<void> {
    let list = buffers.filter((b) => b.length > 0);
    while (list.length > 0) {
      const batch = list.slice(0, IOV_MAX);
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
    }
    if (this.#strategy !== 'none') await this.#advance(false);
  }

  /** Write back and drop everything still cached (after the last write, before fsync/close). */
  async finish(): Promise<void> {
    if (this.#strategy !== 'none') await this.#advance(true);
  }

  async #writev(batch: Uint8Array[]): Promise<number> {
    const b = this.#b;
    if (b === null) return (await this.#fh.writev(batch, this.#pos)).bytesWritten;
    const flags = this.#strategy === 'dontcache' ? b.constants.RWF_DONTCACHE : 0;
    try {
      return await b.pwritev2(this.#fh.fd, batch, this.#pos, flags);
    } catch (err) {
      const e = toSystemError(err);
      if (flags !== 0 && (e as { errno?: string }).errno === 'EOPNOTSUPP') {
        throw new UnsupportedError('RWF_DONTCACHE was refused by the filesystem', { cause: e });
      }
      throw e;
    }
  }

  async #advance(final: boolean): Promise<void> {
    const b = this.#b as LinuxBinding;
    const c = b.constants;
    const fd = this.#fh.fd;
    // Windows are aligned to multiples of windowBytes (itself a multiple of the page size), so
    // DONTNEED never has to round a partial page away except at the end of the file.
    const complete = final ? this.#pos : Math.floor(this.#pos / this.#window) * this.#window;
    try {
      if (complete > this.#started) {
        await b.syncFileRange(fd, this.#started, complete - this.#started, c.SYNC_FILE_RANGE_WRITE);
        this.#started = complete;
      }
      const droppable = final ? complete : complete - this.#window;
      if (droppable > this.#dropped) {
        const all =
          c.SYNC_FILE_RANGE_WAIT_BEFORE | c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER;
        // length 0 = to the end of the file, so the last partial page is dropped too.
        const len = final ? 0 : droppable - this.#dropped;
        await b.syncFileRange(fd, this.#dropped, len, all);
        await b.fadvise(fd, this.#dropped, len, c.POSIX_FADV_DONTNEED);
        this.#dropped = droppable;
      }
    } catch (err) {
      throw toSystemError(err);
    }
  }
}
