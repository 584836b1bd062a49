/**
 * Turn the native addon's rejections into {@link SystemError}s. The addon sends only the numeric
 * errno, the `strerror` text and the syscall; the name comes from Node (libuv's table), which knows
 * every errno on every libc. Naming errnos in C++ needed `strerrorname_np` (glibc >= 2.32): on musl
 * (Alpine) a short fallback table turned EPERM, EROFS, EFBIG, EAGAIN, EDQUOT, … into "UNKNOWN".
 *
 * @module
 */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { SystemError } from '../errors.js';

let byNumber: Map<number, string> | undefined;

/** `os.constants.errno` inverted; the first name wins where two share a number (EDEADLK/EDEADLOCK). */
function platformName(errno: number): string | undefined {
  if (byNumber === undefined) {
    byNumber = new Map();
    for (const [name, n] of Object.entries(constants.errno)) {
      if (!byNumber.has(n)) byNumber.set(n, name);
    }
  }
  return byNumber.get(errno);
}

/**
 * The name of a positive errno number, e.g. `EPERM` for 1. Node's `util.getSystemErrorName`
 * (libuv's table) first; the numbers libuv does not name (EDQUOT, ESTALE, ECHILD, …) from
 * `os.constants.errno`, which Node takes from the platform's `errno.h`. A number neither knows gets
 * libuv's `Unknown system error -N` text rather than a made-up name.
 *
 * @throws {RangeError} When `errno` is not a positive integer.
 * @example
 * ```ts
 * errnoName(os.constants.errno.EROFS); // 'EROFS'
 * ```
 */
export function errnoName(errno: number): string {
  if (!Number.isInteger(errno) || errno <= 0) {
    throw new RangeError(`errno must be a positive integer, got ${errno}`);
  }
  // Node's system errors carry errno negated (libuv's convention).
  const name = getSystemErrorName(-errno);
  // On Linux EOPNOTSUPP and ENOTSUP are one number, which libuv calls ENOTSUP; the kernel, glibc
  // and the man pages (pwritev2's RWF_* flags, fallocate) say EOPNOTSUPP, and so did this addon.
  if (name === 'ENOTSUP' && errno === constants.errno.EOPNOTSUPP) return 'EOPNOTSUPP';
  if (!name.startsWith('Unknown system error')) return name;
  return platformName(errno) ?? name;
}

/**
 * Convert a system-call failure into a {@link SystemError} with the errno name, the positive errno
 * number (`errnoNumber`) and the syscall; the original error becomes `cause`. Accepts the addon's
 * rejection (`{ errno: number, syscall }`) and Node's own system errors (`{ errno: -N, code,
 * syscall }`). A `SystemError` is returned unchanged (so converting twice is harmless), and
 * anything else (a TypeError, an abort reason) is returned as it is.
 *
 * @example
 * ```ts
 * try { await raw.fadvise(fd, 0, 0, advice); } catch (err) { throw toSystemError(err); }
 * ```
 */
export function toSystemError(err: unknown): unknown {
  if (err instanceof SystemError || !(err instanceof Error)) return err;
  const { syscall, errno, code } = err as { syscall?: unknown; errno?: unknown; code?: unknown };
  if (typeof syscall !== 'string') return err;
  const number =
    typeof errno === 'number' && Number.isInteger(errno) && errno !== 0
      ? Math.abs(errno)
      : undefined;
  const name =
    number !== undefined ? errnoName(number) : typeof code === 'string' ? code : 'UNKNOWN';
  // The addon's message is "<syscall>: <strerror text>"; keep the text, the prefix is redundant.
  const prefix = `${syscall}: `;
  const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : undefined;
  return new SystemError(syscall, name, detail, {
    cause: err,
    ...(number === undefined ? {} : { errnoNumber: number }),
  });
}
