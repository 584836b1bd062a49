/**
 * Options of the decompression helpers: what they mean, their defaults and validation.
 *
 * @module
 */
import type { BufferPool } from '../pool/index.js';
import {
  checkObject,
  checkSignal,
  intOption,
  numberOption,
  oneOf,
  poolOption,
} from '../validate.js';

/**
 * A compressed format Node's zlib reads: `'gzip'` (RFC 1952, concatenated members included),
 * `'deflate'` (zlib-wrapped, RFC 1950), `'deflate-raw'` (RFC 1951, as inside zip files),
 * `'brotli'` (RFC 7932).
 */
export type CompressionFormat = 'gzip' | 'deflate' | 'deflate-raw' | 'brotli';

/** The formats, in the order the docs list them. */
export const FORMATS: readonly CompressionFormat[] = ['gzip', 'deflate', 'deflate-raw', 'brotli'];

/** Default `maxOutputBytes`: 64 MiB. The output lives in memory, so the default is finite. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 << 20;

/**
 * Default `maxRatio`: 100 output bytes per input byte. Apache POI refuses the same (its
 * `MIN_INFLATE_RATIO` is 0.01); ordinary text and JSON stay well under it, while deflate can
 * reach ~1032:1 and brotli far more on repeated bytes, which is what bombs are made of.
 */
export const DEFAULT_MAX_RATIO = 100;

/**
 * Output below this many bytes is never refused for its ratio: a 2 KiB JSON body that inflates
 * to 300 KiB is not a bomb, and counting ratios on tiny inputs only produces false alarms.
 */
export const RATIO_GRACE_BYTES = 1 << 20;

/** Limits shared by every decompression entry point. */
export interface DecompressLimits {
  /**
   * Stop with `ERR_SLABIO_LIMIT` at the first output chunk that would cross this many bytes.
   * Exactly `maxOutputBytes` bytes succeed. `Infinity` turns the limit off.
   * @default 64 MiB
   */
  maxOutputBytes?: number;
  /**
   * Stop with `ERR_SLABIO_LIMIT` once the output is larger than `maxRatio` × the compressed bytes
   * consumed so far (checked from the first chunk on, but only once the output passed 1 MiB).
   * `Infinity` turns the check off.
   * @default 100
   */
  maxRatio?: number;
  /** Abort: the stream is destroyed with `signal.reason`, and promises reject with it. */
  signal?: AbortSignal;
}

/** Options of `createDecompressStream`. */
export type DecompressStreamOptions = DecompressLimits;

/** Options of `gunzip`, `inflate`, `brotliDecompress`. */
export interface DecompressOptions extends DecompressLimits {
  /** The pool the output lease comes from. @default getDefaultPool() */
  pool?: BufferPool;
}

/** Options of `decompress`: the format is required. */
export interface DecompressAnyOptions extends DecompressOptions {
  /** The compressed format of the input. */
  format: CompressionFormat;
}

/** Validated limits. */
export interface ResolvedLimits {
  maxOutputBytes: number;
  maxRatio: number;
  signal: AbortSignal | undefined;
}

/** Validate the format. @throws {TypeError|RangeError} naming the value. */
export function checkFormat(format: unknown, name = 'format'): CompressionFormat {
  return oneOf(name, format, FORMATS);
}

/**
 * Apply defaults and validate the limits.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveLimits(options: DecompressLimits = {}): ResolvedLimits {
  checkObject('options', options);
  return {
    maxOutputBytes: intOption(
      'options.maxOutputBytes',
      options.maxOutputBytes,
      DEFAULT_MAX_OUTPUT_BYTES,
      {
        infinity: true,
      },
    ),
    maxRatio: numberOption('options.maxRatio', options.maxRatio, DEFAULT_MAX_RATIO, {
      min: 1,
      infinity: true,
    }),
    signal: checkSignal(options.signal),
  };
}

/** Validate the pool option. @throws {TypeError} for anything but a BufferPool. */
export function resolvePool(options: DecompressOptions): BufferPool {
  return poolOption(options.pool);
}
