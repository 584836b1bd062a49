/**
 * Options shared by `transformImage` and `decodeRaw`, their defaults and validation.
 *
 * @module
 */
import type { SharpOptions } from 'sharp';
import { BufferPool, getDefaultPool } from '../../pool/index.js';
import { limitOption } from '../../validate.js';

/**
 * Default `limitInputPixels`: 50 megapixels (e.g. 8660 × 5773). sharp's own default is
 * 268 402 689 (0x3FFF²), about a gigabyte of RGBA pixels, far more than a container with a few
 * hundred MiB can decode; 50 MP still covers every camera and phone photo of today.
 */
export const DEFAULT_LIMIT_INPUT_PIXELS = 50_000_000;

/**
 * Default `maxInputBytes`: 64 MiB of encoded input. A 50 MP JPEG is rarely above 30 MB; raise it
 * for large PNG or TIFF inputs.
 */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Options passed to the `sharp()` constructor, except the ones slabio sets itself
 * (`limitInputPixels`) and the ones that do not read an input (`create`, `text`, `join`).
 */
export type SharpInputOptions = Omit<SharpOptions, 'limitInputPixels' | 'create' | 'text' | 'join'>;

/** Options of `transformImage` (and, with `build`, of `decodeRaw`). Every option is optional. */
export interface ImageOptions {
  /** The pool the output lease (and a stream or file input) is leased from. @default getDefaultPool() */
  pool?: BufferPool | undefined;
  /**
   * Refuse inputs whose header declares more than this many pixels (width × height), before any
   * pixel is decoded: a decompression bomb (a small PNG declaring 50000 × 50000) rejects with
   * `ERR_SLABIO_BAD_INPUT`. `false` turns the limit off (not for untrusted input).
   * @default {@link DEFAULT_LIMIT_INPUT_PIXELS} (50 000 000)
   */
  limitInputPixels?: number | false | undefined;
  /**
   * Refuse encoded inputs longer than this many bytes (`ERR_SLABIO_LIMIT`). A stream or file is
   * read into the pool only up to this limit.
   * @default {@link DEFAULT_MAX_INPUT_BYTES} (64 MiB)
   */
  maxInputBytes?: number | undefined;
  /**
   * Refuse outputs longer than this many bytes (`ERR_SLABIO_LIMIT`). `decodeRaw` checks the raw
   * size from the header before decoding; encoded output can only be checked once libvips has
   * produced it (the pixel limit bounds that).
   * @default Infinity
   */
  maxOutputBytes?: number | undefined;
  /**
   * Options for the `sharp()` constructor (`failOn`, `autoOrient`, `density`, `animated`, `raw`
   * for raw pixel input, ...).
   * @default `{}` (sharp's defaults; `failOn: 'warning'` refuses truncated images)
   */
  sharpOptions?: SharpInputOptions | undefined;
  /**
   * Abort: the promise rejects with `signal.reason`. A libvips job cannot be interrupted, so an
   * abort during processing is reported when that job returns; nothing is then left leased.
   */
  signal?: AbortSignal | undefined;
}

/** @internal Options after defaults and validation. */
export interface ImageSettings {
  pool: BufferPool;
  /** Pixels, or 0 for no limit (sharp's spelling). */
  limitInputPixels: number;
  maxInputBytes: number;
  maxOutputBytes: number;
  sharpOptions: SharpInputOptions;
  signal: AbortSignal | undefined;
}

function pixelLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT_INPUT_PIXELS;
  if (value === false) return 0;
  if (typeof value !== 'number') {
    throw new TypeError(`options.limitInputPixels must be a number or false, got ${typeof value}`);
  }
  if (value === Number.POSITIVE_INFINITY) return 0;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(`options.limitInputPixels must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveImageOptions(options: unknown): ImageSettings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const o = options as ImageOptions;
  if (o.pool !== undefined && !(o.pool instanceof BufferPool)) {
    throw new TypeError('options.pool must be a BufferPool');
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${typeof o.signal}`);
  }
  const sharpOptions = o.sharpOptions ?? {};
  if (typeof sharpOptions !== 'object' || sharpOptions === null) {
    throw new TypeError(`options.sharpOptions must be an object, got ${typeof sharpOptions}`);
  }
  for (const key of ['limitInputPixels', 'create', 'text', 'join']) {
    if (key in sharpOptions) {
      throw new TypeError(
        `options.sharpOptions.${key} is not supported here${key === 'limitInputPixels' ? ': use options.limitInputPixels' : ''}`,
      );
    }
  }
  return {
    pool: o.pool ?? getDefaultPool(),
    limitInputPixels: pixelLimit(o.limitInputPixels),
    maxInputBytes: limitOption('maxInputBytes', o.maxInputBytes, DEFAULT_MAX_INPUT_BYTES),
    maxOutputBytes: limitOption('maxOutputBytes', o.maxOutputBytes, Number.POSITIVE_INFINITY),
    sharpOptions,
    signal: o.signal,
  };
}
