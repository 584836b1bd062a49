/**
 * {@link ReadAllOptions}: what they mean, their defaults and validation.
 *
 * @module
 */
import { BufferPool, getDefaultPool } from '../pool/index.js';
import { checkSignal } from './bytes.js';

/** Options of `readAll`, `readAllChunks` and `readFilePooled`. Every option is optional. */
export interface ReadAllOptions {
  /** The pool the blocks and the result come from. @default getDefaultPool() */
  pool?: BufferPool;
  /**
   * Refuse sources longer than this many bytes. A declared length above it rejects before
   * anything is read; otherwise reading stops at the first chunk that would cross it, the source
   * is destroyed and every block is released. Exactly `maxBytes` bytes succeed.
   * @default Infinity (no limit; set one for anything that comes from the network)
   */
  maxBytes?: number;
  /**
   * The exact length of the source, when the caller knows it. One block of that size is leased
   * and filled in place; a source that turns out shorter or longer rejects with
   * `ERR_SLABIO_LENGTH_MISMATCH`. Taken automatically from `fstat` for files and from
   * `content-length` for an `http.IncomingMessage`; this option overrides both.
   * @default undefined (from the source where known, else grow class by class)
   */
  lengthHint?: number;
  /** Abort reading: the promise rejects with `signal.reason`, the source is destroyed. */
  signal?: AbortSignal;
}

/** Options after defaults and validation. */
export interface ResolvedReadAllOptions {
  pool: BufferPool;
  maxBytes: number;
  lengthHint: number | undefined;
  signal: AbortSignal | undefined;
}

function byteCount(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  if (!(Number.isSafeInteger(value) && value >= 0) && value !== Number.POSITIVE_INFINITY) {
    throw new RangeError(`options.${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveReadAllOptions(options: ReadAllOptions = {}): ResolvedReadAllOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const { pool, maxBytes, lengthHint, signal } = options;
  if (pool !== undefined && !(pool instanceof BufferPool)) {
    throw new TypeError('options.pool must be a BufferPool');
  }
  const hint = lengthHint === undefined ? undefined : byteCount('lengthHint', lengthHint);
  if (hint === Number.POSITIVE_INFINITY) {
    throw new RangeError('options.lengthHint must be a non-negative integer, got Infinity');
  }
  return {
    pool: pool ?? getDefaultPool(),
    maxBytes: maxBytes === undefined ? Number.POSITIVE_INFINITY : byteCount('maxBytes', maxBytes),
    lengthHint: hint,
    signal: checkSignal(signal),
  };
}
