/**
 * {@link ReadAllOptions}: what they mean, their defaults and validation.
 *
 * @module
 */
import type { BufferPool } from '../pool/index.js';
import { checkInteger, checkObject, checkSignal, intOption, poolOption } from '../validate.js';

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

/**
 * Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveReadAllOptions(options: ReadAllOptions = {}): ResolvedReadAllOptions {
  checkObject('options', options);
  const { pool, maxBytes, lengthHint, signal } = options;
  return {
    pool: poolOption(pool),
    maxBytes: intOption('options.maxBytes', maxBytes, Number.POSITIVE_INFINITY, { infinity: true }),
    lengthHint:
      lengthHint === undefined ? undefined : checkInteger('options.lengthHint', lengthHint),
    signal: checkSignal(signal),
  };
}
