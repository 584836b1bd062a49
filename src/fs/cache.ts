/**
 * Drop a file's page cache and measure how much of it is cached.
 *
 * @module
 */

import { fstat } from 'node:fs';
import { promisify } from 'node:util';
import { requireLinuxBinding } from '../native/binding.js';
import { errnoCode } from '../native/system-error.js';
import { checkNonNegativeInt, checkSignal } from '../native/validate.js';
import { closeFd, openPath } from '../read-all/fd-calls.js';

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

async function withFd<T>(pathOrFd: string | number, fn: (fd: number) => Promise<T>): Promise<T> {
  if (typeof pathOrFd === 'number') {
    checkNonNegativeInt('fd', pathOrFd);
    return fn(pathOrFd);
  }
  if (typeof pathOrFd !== 'string' || pathOrFd === '') {
    throw new TypeError(`pathOrFd must be a path or a file descriptor, got ${String(pathOrFd)}`);
  }
  // Opened as readAll opens a path: a FIFO without a writer must not hold a thread-pool thread.
  const fd = await openPath(pathOrFd);
  try {
    return await fn(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * Measure how much of a file sits in the page cache. `method: 'auto'` uses `cachestat(2)` and falls
 * back to `mmap` + `mincore(2)` when `cachestat` fails with `ENOSYS` (Linux < 6.5) or `EPERM` (a
 * seccomp filter that blocks it, as in some container runtimes); any other error is thrown.
 *
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error when a syscall fails, shaped as Node's fs errors (e.g.
 * `code: 'ENOSYS'` for `cachestat` forced on a kernel before 6.5; `'ENOENT'` from `open`).
 * @example
 * ```ts
 * const r = await residency('out.bin');
 * console.log(`${r.cachedBytes} of ${r.bytes} bytes cached (${r.method})`);
 * ```
 */
export async function residency(
  pathOrFd: string | number,
  options: ResidencyOptions = {},
): Promise<Residency> {
  const method = options.method ?? 'auto';
  if (!['auto', 'cachestat', 'mincore'].includes(method)) {
    throw new TypeError(`options.method must be 'auto', 'cachestat' or 'mincore', got ${method}`);
  }
  checkSignal(options.signal);
  const b = requireLinuxBinding('residency');
  return withFd(pathOrFd, async (fd) => {
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
 * Drop a file's pages from the page cache: write back dirty pages first
 * (`sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)`), then `POSIX_FADV_DONTNEED`. Never loses data.
 * Pages mapped by a process, or of a memory-backed filesystem (tmpfs), stay.
 *
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error when a syscall fails, shaped as Node's fs errors (`code`
 * `ESPIPE` on a pipe, `ENOENT` from `open`, …).
 * @example
 * ```ts
 * await dropCache('/var/cache/app/render.pdf');
 * ```
 */
export async function dropCache(
  pathOrFd: string | number,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  checkSignal(options.signal);
  const b = requireLinuxBinding('dropCache');
  const c = b.constants;
  await withFd(pathOrFd, async (fd) => {
    const all =
      c.SYNC_FILE_RANGE_WAIT_BEFORE | c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER;
    await b.syncFileRange(fd, 0, 0, all);
    await b.fadvise(fd, 0, 0, c.POSIX_FADV_DONTNEED);
  });
}
