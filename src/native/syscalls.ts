/**
 * Promise wrappers for the page-cache syscalls in the native addon. Each runs on the libuv
 * threadpool; a failure rejects with an error shaped like Node's fs errors (`code` the errno name,
 * negative `errno`, `syscall`), given that shape where the binding is loaded (binding.ts).
 *
 * @module
 */

import { checkFd, checkInteger, checkObject, checkSignal, oneOf } from '../validate.js';
import { type LinuxBinding, requireLinuxBinding } from './binding.js';

/** `posix_fadvise` advice names. */
export type FadviseAdvice =
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontneed'
  | 'noreuse';

const ADVICE: Record<FadviseAdvice, keyof LinuxBinding['constants']> = {
  normal: 'POSIX_FADV_NORMAL',
  random: 'POSIX_FADV_RANDOM',
  sequential: 'POSIX_FADV_SEQUENTIAL',
  willneed: 'POSIX_FADV_WILLNEED',
  dontneed: 'POSIX_FADV_DONTNEED',
  noreuse: 'POSIX_FADV_NOREUSE',
};
const ADVICE_NAMES = Object.keys(ADVICE) as FadviseAdvice[];

/** Options common to the syscall wrappers. */
export interface SyscallOptions {
  /** Checked before the call starts; a started syscall runs to completion. */
  signal?: AbortSignal;
}

function checkRange(fd: number, offset: number, length: number): void {
  checkFd(fd);
  checkInteger('offset', offset);
  checkInteger('length', length);
}

/** Rejects with `signal.reason` once aborted: a started syscall cannot be stopped. */
function checkAbort(options: SyscallOptions): void {
  checkObject('options', options);
  checkSignal(options.signal)?.throwIfAborted();
}

/**
 * `posix_fadvise(fd, offset, length, advice)` off the main thread. `length` 0 means "to the end
 * of the file". `'dontneed'` drops clean cached pages in the range (dirty pages are skipped, so it
 * never loses data; write them back first with {@link syncFileRange} to drop them too).
 *
 * @default length 0 (to end of file)
 * @throws {RangeError} When `fd` is not an integer from 0 to 0x7fffffff, another argument is
 * negative or not a safe integer, or `advice` is not one of the names above (`TypeError` when an
 * argument has the wrong type).
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error, as Node shapes its fs errors: `code` `EBADF`, `ESPIPE`, …
 * @example
 * ```ts
 * await fadvise(fh.fd, 0, 0, 'dontneed');
 * ```
 */
export async function fadvise(
  fd: number,
  offset: number,
  length: number,
  advice: FadviseAdvice,
  options: SyscallOptions = {},
): Promise<void> {
  checkRange(fd, offset, length);
  // Checked against the names first: a plain lookup would find 'toString' on the prototype.
  const name = ADVICE[oneOf('advice', advice, ADVICE_NAMES)];
  checkAbort(options);
  const b = requireLinuxBinding('fadvise');
  await b.fadvise(fd, offset, length, b.constants[name]);
}

/** Which parts of `sync_file_range` to do. */
export interface SyncFileRangeFlags {
  /** Wait for writeback already in flight on the range before starting. @default false */
  waitBefore?: boolean;
  /** Start writeback of dirty pages in the range. @default true */
  write?: boolean;
  /** Wait until writeback of the range has finished. @default false */
  waitAfter?: boolean;
}

/**
 * `sync_file_range(fd, offset, length, flags)` off the main thread: start and/or wait for
 * writeback of a byte range. It does not flush metadata or the disk cache; it is a page-cache
 * tool, not a durability one (use `fdatasync` for that).
 *
 * @default flags `{ write: true }`
 * @throws {RangeError} When `fd` is not an integer from 0 to 0x7fffffff, or another argument is
 * negative or not a safe integer (`TypeError` when it is not a number).
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error, as Node shapes its fs errors (`code` the errno name).
 * @example
 * ```ts
 * await syncFileRange(fh.fd, 0, 8 << 20, { write: true }); // start writeback of the first 8 MiB
 * ```
 */
export async function syncFileRange(
  fd: number,
  offset: number,
  length: number,
  flags: SyncFileRangeFlags = { write: true },
  options: SyscallOptions = {},
): Promise<void> {
  checkRange(fd, offset, length);
  checkAbort(options);
  const b = requireLinuxBinding('syncFileRange');
  const c = b.constants;
  const bits =
    (flags.waitBefore === true ? c.SYNC_FILE_RANGE_WAIT_BEFORE : 0) |
    (flags.write !== false ? c.SYNC_FILE_RANGE_WRITE : 0) |
    (flags.waitAfter === true ? c.SYNC_FILE_RANGE_WAIT_AFTER : 0);
  await b.syncFileRange(fd, offset, length, bits);
}

/** Options of {@link pwritev2} / {@link preadv2}. */
export interface VectorIoOptions extends SyscallOptions {
  /** Pass `RWF_DONTCACHE` (Linux >= 6.14): drop the pages once written back / read. @default false */
  dontcache?: boolean;
}

/** Linux IOV_MAX: more buffers per call fail with EINVAL. */
export const IOV_MAX = 1024;

function checkBuffers(buffers: readonly Uint8Array[]): void {
  if (!Array.isArray(buffers)) throw new TypeError('buffers must be an array of Uint8Array');
  if (buffers.length > IOV_MAX) {
    throw new RangeError(`buffers must hold at most ${IOV_MAX} entries, got ${buffers.length}`);
  }
  for (const b of buffers) {
    if (!(b instanceof Uint8Array)) throw new TypeError('buffers must be an array of Uint8Array');
  }
}

/**
 * `pwritev2(fd, buffers, position, flags)` off the main thread. Returns the bytes written, which
 * may be fewer than asked (continue from there).
 *
 * @throws {RangeError} When `fd` is not an integer from 0 to 0x7fffffff, or another argument is
 * negative or not a safe integer (`TypeError` when it is not a number).
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error, as Node shapes its fs errors: `code` `ENOSPC`, …, and
 * `ENOTSUP` when the filesystem refuses `RWF_DONTCACHE` (tmpfs, kernels before 6.14).
 * @example
 * ```ts
 * const n = await pwritev2(fh.fd, [chunk], 0, { dontcache: true });
 * ```
 */
export async function pwritev2(
  fd: number,
  buffers: readonly Uint8Array[],
  position: number,
  options: VectorIoOptions = {},
): Promise<number> {
  checkFd(fd);
  checkInteger('position', position);
  checkBuffers(buffers);
  checkAbort(options);
  const b = requireLinuxBinding('pwritev2');
  const flags = options.dontcache === true ? b.constants.RWF_DONTCACHE : 0;
  return b.pwritev2(fd, [...buffers], position, flags);
}

/**
 * `preadv2(fd, buffers, position, flags)` off the main thread. Returns the bytes read (0 at EOF).
 *
 * @throws {RangeError} When `fd` is not an integer from 0 to 0x7fffffff, or another argument is
 * negative or not a safe integer (`TypeError` when it is not a number).
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` without the native addon.
 * @throws {Error} the kernel's error, as Node shapes its fs errors (`code` the errno name).
 * @example
 * ```ts
 * const n = await preadv2(fh.fd, [lease.buffer], 0, { dontcache: true });
 * ```
 */
export async function preadv2(
  fd: number,
  buffers: readonly Uint8Array[],
  position: number,
  options: VectorIoOptions = {},
): Promise<number> {
  checkFd(fd);
  checkInteger('position', position);
  checkBuffers(buffers);
  checkAbort(options);
  const b = requireLinuxBinding('preadv2');
  const flags = options.dontcache === true ? b.constants.RWF_DONTCACHE : 0;
  return b.preadv2(fd, [...buffers], position, flags);
}
