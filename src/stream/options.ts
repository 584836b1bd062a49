/**
 * Options of the stream helpers and their validation. Internal.
 *
 * @module
 */
import { BufferPool, getDefaultPool } from '../pool/index.js';
import { checkSignal } from '../read-all/bytes.js';

/** Default block size of `pump` and `readChunks`: fs streams' default highWaterMark. */
export const DEFAULT_BLOCK_SIZE = 64 * 1024;

/** Check that `options` is an object. @throws {TypeError} otherwise. */
export function checkOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
}

/** The pool option, or the default pool. @throws {TypeError} for something else. */
export function poolOption(pool: unknown): BufferPool {
  if (pool === undefined) return getDefaultPool();
  if (!(pool instanceof BufferPool)) throw new TypeError('options.pool must be a BufferPool');
  return pool;
}

/** A positive integer option. @throws {TypeError|RangeError} naming it and the value. */
export function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export { checkSignal };
