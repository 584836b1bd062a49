/** Argument checks shared by the native wrappers and src/fs. @module */

/** Throws a TypeError/RangeError naming `name` unless `value` is a non-negative safe integer. */
export function checkNonNegativeInt(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/** The largest file descriptor: fds are C `int`s, so 2^31 - 1. */
export const MAX_FD = 0x7fffffff;

/**
 * Throws unless `value` is a file descriptor number (an integer from 0 to {@link MAX_FD}). A larger
 * number must never reach the addon: a C `int` conversion would wrap it onto another open file
 * (2^32 + 18 is fd 18).
 *
 * @throws {TypeError} When `value` is not a number.
 * @throws {RangeError} When it is not an integer in 0..0x7fffffff; the message names `name` and the value.
 */
export function checkFd(value: unknown, name = 'fd'): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_FD) {
    throw new RangeError(
      `${name} must be a file descriptor (an integer from 0 to ${MAX_FD}), got ${value}`,
    );
  }
}

/** Throws with `signal.reason` when the signal is already aborted. */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${String(signal)}`);
  }
  signal.throwIfAborted();
}
