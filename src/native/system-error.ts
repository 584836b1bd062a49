/**
 * Errors from the kernel, in one shape whichever layer made the call: Node's own fs errors pass
 * through as they are, and the native addon's rejections are given the same shape (`code` the
 * errno name, `errno` the negative number, `syscall`, `path` when the call took one, Node's message
 * format), so `err.code === 'ENOSPC'` holds whether `write` or `pwritev2` ran out of space.
 *
 * The addon sends only the errno number, the `strerror` text and the syscall; the name comes from
 * Node (libuv's table), which knows every errno on every libc. Naming errnos in C++ needed
 * `strerrorname_np` (glibc >= 2.32): on musl (Alpine) a short fallback table turned EPERM, EROFS,
 * EFBIG, EAGAIN, EDQUOT, … into "UNKNOWN".
 *
 * @module
 */
import { constants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';

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
 * The name of a positive errno number as Node's fs errors spell it in `code`, e.g. `EPERM` for 1
 * and `ENOTSUP` for Linux's 95 (which the kernel's headers also call EOPNOTSUPP). Node's
 * `util.getSystemErrorName` (libuv's table) first; the numbers libuv does not name (EDQUOT,
 * ESTALE, ECHILD, …) from `os.constants.errno`, which Node takes from the platform's `errno.h`. A
 * number neither knows gets libuv's `Unknown system error -N` text rather than a made-up name.
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
  if (!name.startsWith('Unknown system error')) return name;
  return platformName(errno) ?? name;
}

/**
 * Give an addon rejection (an `Error` with a negative `errno` number, `syscall`, and the
 * `strerror` text as its message) the shape of Node's fs errors, in place: `code` is
 * {@link errnoName}, `path` is set when given, and the message reads as Node's do,
 * `ENOSPC: no space left on device, pwritev2` (with ` '<path>'` after it when there is one); the
 * description is libuv's, as in Node's messages, else the `strerror` text. Anything else (a
 * `TypeError`, an abort reason, an error that already has a `code`) is returned as it is.
 *
 * @example
 * ```ts
 * raw.scanDir(dir, 100, '').catch((err) => { throw asNodeError(err, dir); });
 * ```
 */
export function asNodeError(err: unknown, path?: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.syscall !== 'string' || typeof e.errno !== 'number' || e.code !== undefined) {
    return err;
  }
  const number = Math.abs(e.errno);
  if (!Number.isInteger(number) || number === 0) return err;
  const code = errnoName(number);
  const text = getSystemErrorMap().get(-number)?.[1] ?? lowerFirst(e.message);
  e.errno = -number;
  e.code = code;
  e.message = `${code}: ${text}, ${e.syscall}${path === undefined ? '' : ` '${path}'`}`;
  if (path !== undefined) e.path = path;
  // The stack's first line was formatted from the strerror text; keep the frames, fix the line.
  if (typeof e.stack === 'string') {
    const frames = e.stack.indexOf('\n    at ');
    e.stack = `${e.name}: ${e.message}${frames === -1 ? '' : e.stack.slice(frames)}`;
  }
  return e;
}

function lowerFirst(text: string): string {
  return text.length > 1 && text[1] === text[1]?.toLowerCase()
    ? text.charAt(0).toLowerCase() + text.slice(1)
    : text;
}

/**
 * The errno name of an error from the kernel (its `code`, e.g. `'ENOENT'`), from Node or from the
 * addon alike; `undefined` for anything else (slabio's own errors, abort reasons, callback errors).
 */
export function errnoCode(err: unknown): string | undefined {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && typeof syscall === 'string' ? code : undefined;
}

/**
 * Whether a filesystem refused `RWF_DONTCACHE`: `ENOTSUP` (the kernel's EOPNOTSUPP, one number on
 * Linux) where the filesystem does not do uncached buffered IO, `EINVAL` from kernels that do not
 * know the flag.
 */
export function refusedDontcache(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EINVAL';
}
