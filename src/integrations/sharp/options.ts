/**
 * Options shared by `transformImage` and `decodeRaw`, their defaults and validation.
 *
 * @module
 */
import type { SharpOptions } from 'sharp';
import type { BufferPool } from '../../pool/index.js';
import { checkObject, checkSignal, intOption, objectOption, poolOption } from '../../validate.js';
import { type ImageInputFormat, inputFormatsOption } from './formats.js';

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
export interface TransformImageOptions {
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
   * Refuse outputs of more than this many pixels (width × height, all pages), from the input's
   * header and the pipeline's settings (`resize`, `extend`, `rotate`, `affine`, `extract`), before
   * libvips renders anything: `ERR_SLABIO_LIMIT`. libvips holds an output's pixels (raw, WebP,
   * AVIF) or its encoded bytes (PNG, JPEG: up to about 3 bytes a pixel for a photo) in memory
   * while it produces them, so this is what bounds the memory of an upscale;
   * `limitInputPixels` covers only the input. `false` turns it off.
   * @default the value of `limitInputPixels` (50 000 000 unless set; off when that is `false`)
   */
  limitOutputPixels?: number | false | undefined;
  /**
   * Refuse encoded inputs longer than this many bytes (`ERR_SLABIO_LIMIT`). A stream or file is
   * read into the pool only up to this limit.
   * @default {@link DEFAULT_MAX_INPUT_BYTES} (64 MiB)
   */
  maxInputBytes?: number | undefined;
  /**
   * Refuse outputs longer than this many bytes (`ERR_SLABIO_LIMIT`). A raw output (`decodeRaw`,
   * `raw()`) that cannot fit (one byte per pixel already does not) is refused before libvips
   * renders it; an encoded output's size is known only once libvips has produced it, so it is
   * checked then, and `limitOutputPixels` bounds the memory spent meanwhile.
   * @default Infinity
   */
  maxOutputBytes?: number | undefined;
  /**
   * The formats libvips may decode, recognised from the input's first bytes (never from a file
   * name or a declared type). Anything else, or anything that could also be read as a format not
   * listed (an SVG or PDF marker behind a raster signature), is refused with
   * `ERR_SLABIO_BAD_INPUT` before sharp sees it. Raw pixel input (`sharpOptions.raw`) is not
   * checked.
   *
   * The default holds only raster formats, whose decoding cost `limitInputPixels` bounds. Add
   * `'svg'` or `'pdf'` only for input you trust, or together with `timeoutSeconds`: a vector
   * document's cost depends on its content, not its size (2 KB of nested `<use>` elements make
   * librsvg instantiate hundreds of thousands of shapes, seconds of CPU per 2000 × 2000 tile),
   * and librsvg is not hardened for hostile input.
   * @default {@link DEFAULT_INPUT_FORMATS} (`['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']`)
   */
  inputFormats?: readonly ImageInputFormat[] | undefined;
  /**
   * Stop libvips after this many seconds of processing (sharp's `timeout()`) and reject with
   * `ERR_SLABIO_TIMEOUT`. libvips checks the clock between the tiles it computes, never inside
   * one: it renders an SVG in 2000 × 2000 pixel tiles, one librsvg call each, so a render stops
   * at the end of the tile that is running at the deadline. One librsvg call is bounded only by
   * librsvg's own limits (it fails after 500 000 referenced elements; keep `sharpOptions.unlimited`
   * off). The clock starts once the header is read: for an SVG without `width`/`height`, librsvg
   * measures the whole drawing there, and `decodeRaw` without `build` reads the header on its
   * own; neither is covered. A whole number from 1 to 3600; `0` turns it off.
   * @example
   * ```ts
   * await transformImage(upload, (img) => img.png(), {
   *   inputFormats: [...DEFAULT_INPUT_FORMATS, 'svg'],
   *   timeoutSeconds: 2,
   * });
   * ```
   * @default 0 (no timeout)
   */
  timeoutSeconds?: number | undefined;
  /**
   * Options for the `sharp()` constructor (`failOn`, `autoOrient`, `density`, `animated`, `raw`
   * for raw pixel input, ...).
   * @default `{}` (sharp's defaults; `failOn: 'warning'` refuses truncated images)
   */
  sharpOptions?: SharpInputOptions | undefined;
  /**
   * Abort: the promise rejects with `signal.reason`. Reading the input and waiting for the pool
   * stop at once, but a running libvips job cannot be stopped from outside: it runs to its end
   * (or to `timeoutSeconds`) and the promise rejects when it returns, so the input is no longer
   * in use when it settles. Nothing is left leased.
   */
  signal?: AbortSignal | undefined;
}

/** @internal Options after defaults and validation. */
export interface ImageSettings {
  pool: BufferPool;
  /** Pixels, or 0 for no limit (sharp's spelling). */
  limitInputPixels: number;
  /** Pixels, or 0 for no limit. */
  limitOutputPixels: number;
  maxInputBytes: number;
  maxOutputBytes: number;
  sharpOptions: SharpInputOptions;
  inputFormats: ReadonlySet<ImageInputFormat>;
  /** Seconds, or 0 for none (sharp's spelling). */
  timeoutSeconds: number;
  signal: AbortSignal | undefined;
}

/** A pixel limit in sharp's spelling: `false` and `Infinity` are no limit, `0`. */
function pixelLimit(name: string, value: unknown, fallback: number): number {
  if (value === false || (value === undefined && fallback === 0)) return 0;
  const limit = intOption(name, value, fallback, {
    min: 1,
    infinity: true,
  });
  return limit === Number.POSITIVE_INFINITY ? 0 : limit;
}

/**
 * Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveImageOptions(options: unknown): ImageSettings {
  const o = (options === undefined ? {} : options) as TransformImageOptions;
  checkObject('options', o);
  const pool = poolOption(o.pool);
  const signal = checkSignal(o.signal);
  const sharpOptions = objectOption('options.sharpOptions', o.sharpOptions) ?? {};
  for (const key of ['limitInputPixels', 'create', 'text', 'join']) {
    if (key in sharpOptions) {
      throw new TypeError(
        `options.sharpOptions.${key} is not supported here${key === 'limitInputPixels' ? ': use options.limitInputPixels' : ''}`,
      );
    }
  }
  const limitInputPixels = pixelLimit(
    'options.limitInputPixels',
    o.limitInputPixels,
    DEFAULT_LIMIT_INPUT_PIXELS,
  );
  return {
    pool,
    limitInputPixels,
    limitOutputPixels: pixelLimit(
      'options.limitOutputPixels',
      o.limitOutputPixels,
      limitInputPixels,
    ),
    maxInputBytes: intOption('options.maxInputBytes', o.maxInputBytes, DEFAULT_MAX_INPUT_BYTES, {
      infinity: true,
    }),
    maxOutputBytes: intOption(
      'options.maxOutputBytes',
      o.maxOutputBytes,
      Number.POSITIVE_INFINITY,
      {
        infinity: true,
      },
    ),
    sharpOptions,
    inputFormats: inputFormatsOption(o.inputFormats),
    // sharp's own range: whole seconds, at most an hour.
    timeoutSeconds: intOption('options.timeoutSeconds', o.timeoutSeconds, 0, { max: 3600 }),
    signal,
  };
}
