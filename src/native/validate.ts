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

/** Throws with `signal.reason` when the signal is already aborted. */
export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${String(signal)}`);
  }
  signal.throwIfAborted();
}
