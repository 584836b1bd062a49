/**
 * Drop a file's page cache and measure how much of it is cached.
 *
 * @module
 */

import { fstat } from 'node:fs';
import { promisify } from 'node:util';
import { linuxBindingOrWarn, noNativeReason, requireLinuxBinding } from '../native/binding.js';
import { errnoCode } from '../native/system-error.js';
import { closeFd, openPath } from '../source/index.js';
import { checkFd, checkObject, checkSignal, oneOf, toPath } from '../validate.js';

/** How much of a file is in the page cache. */
export interface Residency {
  /** The file's size. */
  bytes: number;
  /** Bytes of the file in the page cache. */
  cachedBytes: number;
  /** Dirty (not yet written back) bytes; only with `cachestat`. */
  dirtyBytes?: number;
  /** Bytes under writeback; only with `cachestat`. */
  writebackBytes?: number;
  /** How it was measured: `cachestat(2)` (Linux >= 6.5) or `mmap` + `mincore(2)`. */
  method: 'cachestat' | 'mincore';
  /**
   * False when the kernel may have lied: since Linux 5.0 `mincore` reports every page resident for
   * files the caller neither owns nor may write (to close a cache side channel).
   */
  exact: boolean;
}

/** Options of {@link residency}. */
export interface ResidencyOptions {
  /** Force a method (`'mincore'` needs a readable file). @default 'auto' (cachestat, else mincore) */
  method?: 'auto' | 'cachestat' | 'mincore';
  /** Checked before the measurement starts. */
  signal?: AbortSignal;
}

const fstatAsync = promisify(fstat);
const METHODS = ['auto', 'cachestat', 'mincore'] as const;

/** Options of {@link dropCache}. */
export interface DropCacheOptions {
  /** Checked before the pages are dropped. */
  signal?: AbortSignal;
}

/** The result of {@link dropCache}. */
export interface DropCacheResult {
  /**
   * Whether the writeback and `POSIX_FADV_DONTNEED` calls ran. `false` only without the native
   * addon (or off Linux), where nothing can be dropped; `reason` then says why.
   */
  dropped: boolean;
  /** Why nothing was dropped (absent when `dropped`). */
  reason?: string;
}

/** Checked before anything is opened, so a bad argument throws at once. */
function checkPathOrFd(pathOrFd: unknown): string | number {
  if (typeof pathOrFd !== 'number') return toPath('pathOrFd', pathOrFd);
  return checkFd(pathOrFd);
}

async function withFd<T>(pathOrFd: string | number, fn: (fd: number) => Promise<T>): Promise<T> {
  if (typeof pathOrFd === 'number') return fn(pathOrFd);
  // Opened as readAll opens a path: a FIFO without a writer must not hold a thread-pool thread.
  const fd = await openPath(pathOrFd);
  try {
    return await fn(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * Measure how much of a file (a path, `file:` URL or descriptor) sits in the page cache.
 * `method: 'auto'` uses `cachestat(2)` and falls back to `mmap` + `mincore(2)` when `cachestat`
 * fails with `ENOSYS` (Linux < 6.5) or `EPERM` (a seccomp filter that blocks it, as in some
 * container runtimes); any other error is thrown.
 *
 * Unlike the writers, readers and {@link dropCache}, this has no fallback without the native addon:
 * Node has no call that tells which pages are cached, and a guessed figure would be worse than
 * none. Check `(await capabilities()).native.available` first where the addon may be missing.
 *
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon (or off Linux),
 * after the one-time `SLABIO_NO_NATIVE` warning.
 * @throws {Error} the kernel's error when a syscall fails, shaped as Node's fs errors (e.g.
 * `code: 'ENOSYS'` for `cachestat` forced on a kernel before 6.5; `'ENOENT'` from `open`).
 * @example
 * ```ts
 * const r = await residency('out.bin');
 * console.log(`${r.cachedBytes} of ${r.bytes} bytes cached (${r.method})`);
 * ```
 */
export async function residency(
  pathOrFd: string | URL | number,
  options: ResidencyOptions = {},
): Promise<Residency> {
  const target = checkPathOrFd(pathOrFd);
  checkObject('options', options);
  const method = oneOf('options.method', options.method, METHODS, 'auto');
  checkSignal(options.signal)?.throwIfAborted();
  const b = requireLinuxBinding('residency');
  return withFd(target, async (fd) => {
    if (method !== 'mincore') {
      try {
        const [cs, st] = await Promise.all([b.cachestat(fd, 0, 0), fstatAsync(fd)]);
        return {
          bytes: st.size,
          cachedBytes: cs.cachedBytes,
          dirtyBytes: cs.dirtyBytes,
          writebackBytes: cs.writebackBytes,
          method: 'cachestat',
          exact: true,
        };
      } catch (err) {
        // ENOSYS: kernel < 6.5. EPERM: a seccomp filter older than cachestat (some container
        // runtimes' default profiles) refuses it; mmap + mincore still works there.
        const errno = errnoCode(err);
        if (method === 'cachestat' || (errno !== 'ENOSYS' && errno !== 'EPERM')) throw err;
      }
    }
    const m = await b.mincore(fd);
    return { bytes: m.bytes, cachedBytes: m.cachedBytes, method: 'mincore', exact: m.exact };
  });
}

/**
 * Drop a file's pages (a path, `file:` URL or descriptor) from the page cache: write back dirty
 * pages first (`sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)`), then `POSIX_FADV_DONTNEED`. Never
 * loses data. Pages mapped by a process, or of a memory-backed filesystem (tmpfs), stay.
 *
 * Without the native addon (or off Linux) it degrades as the no-cache writers do: the file is
 * still opened (so a missing file rejects as it does with the addon), nothing is dropped, the
 * one-time `SLABIO_NO_NATIVE` warning says why, and the result is `{ dropped: false, reason }`.
 *
 * @returns Whether the cache was dropped, and why not.
 * @throws {TypeError|RangeError} for a bad `pathOrFd` or `signal`.
 * @throws {Error} the kernel's error when a syscall fails, shaped as Node's fs errors (`code`
 * `ESPIPE` on a pipe, `ENOENT` or `EACCES` from `open`, …).
 * @example
 * ```ts
 * const r = await dropCache('render.pdf');
 * if (!r.dropped) console.log('cache not dropped:', r.reason);
 * ```
 */
export async function dropCache(
  pathOrFd: string | URL | number,
  options: DropCacheOptions = {},
): Promise<DropCacheResult> {
  const target = checkPathOrFd(pathOrFd);
  checkObject('options', options);
  checkSignal(options.signal)?.throwIfAborted();
  const b = linuxBindingOrWarn('dropCache');
  if (b === null) {
    // A missing file or a closed descriptor is refused as it is with the addon.
    await withFd(target, (fd) => fstatAsync(fd));
    return { dropped: false, reason: noNativeReason() };
  }
  const c = b.constants;
  await withFd(target, async (fd) => {
    const all =
      c.SYNC_FILE_RANGE_WAIT_BEFORE | c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER;
    await b.syncFileRange(fd, 0, 0, all);
    await b.fadvise(fd, 0, 0, c.POSIX_FADV_DONTNEED);
  });
  return { dropped: true };
}
