/**
 * `decodeRaw`: an image's pixels into one pooled lease.
 *
 * @module
 */
import type { Metadata } from 'sharp';
import { BadInputError, LimitExceededError } from '../../errors.js';
import type { Lease } from '../../pool/index.js';
import { functionOption } from '../../validate.js';
import { type ImageInput, openInput } from './input.js';
import { type ImageSettings, resolveImageOptions, type TransformImageOptions } from './options.js';
import {
  acquire,
  applyBuild,
  type BuildPipeline,
  badInput,
  copyIntoLease,
  createSharp,
  runPipeline,
} from './pipeline.js';

/** Options of {@link decodeRaw}. */
export interface DecodeRawOptions extends TransformImageOptions {
  /**
   * Set up the pipeline before the raw output (`resize`, `ensureAlpha`, `toColourspace('b-w')`,
   * ...). Without it the lease is sized from the header and taken from the pool before decoding.
   * @default undefined (the image as decoded: 8 bits per channel, sRGB or plain grey, with its alpha)
   */
  build?: BuildPipeline | undefined;
}

/** Decoded pixels: interleaved, 8 bits per channel, row after row without padding. */
export interface RawImage extends Disposable {
  /** The pixels: exactly `width × height × channels` bytes. The caller releases it. */
  readonly lease: Lease;
  readonly width: number;
  readonly height: number;
  /**
   * 1 (grey), 3 (RGB) or 4 (RGBA). Without `build`, a grey image without alpha stays one channel;
   * grey + alpha comes out as RGBA, CMYK as RGB.
   */
  readonly channels: number;
}

/** Whether the header describes a grey image without alpha (kept as one channel). */
function isPlainGrey(meta: Metadata): boolean {
  return (meta.space === 'b-w' || meta.space === 'grey16') && !meta.hasAlpha;
}

/**
 * Bytes the raw output will take, from the header. sharp's raw output is 8 bits per channel in
 * sRGB: CMYK and grey + alpha come out as RGB(A); plain grey is kept as one channel (see
 * `decodeRaw`).
 */
function rawBytesFromHeader(meta: Metadata, s: ImageSettings): number {
  const { width, height } = meta;
  if (!(width > 0 && height > 0)) {
    throw new BadInputError(`image header declares no dimensions (${width}×${height})`);
  }
  const pixels = width * height;
  if (s.limitInputPixels > 0 && pixels > s.limitInputPixels) {
    throw new BadInputError(
      `image declares ${width}×${height} = ${pixels} pixels, over limitInputPixels ${s.limitInputPixels}`,
    );
  }
  const channels = isPlainGrey(meta) ? 1 : meta.hasAlpha ? 4 : 3;
  const bytes = pixels * channels;
  if (bytes > s.maxOutputBytes) throw new LimitExceededError(s.maxOutputBytes, bytes, 'raw image');
  return bytes;
}

/**
 * Decode an image into a lease of raw pixels plus its `{ width, height, channels }`.
 *
 * With or without `build`, the header is read first, and an output over `limitOutputPixels`, or
 * whose pixels cannot fit `maxOutputBytes`, is refused before anything is decoded. Without
 * `build`, an image over `limitInputPixels` is refused there too, and the lease is taken from the pool
 * before libvips allocates its own copy, so a `'wait'` pool throttles decoding. Ownership of
 * `input` is as for {@link transformImage}. Dispose the result (`using`) or release `lease`.
 *
 * @param input See {@link ImageInput}.
 * @param options See {@link DecodeRawOptions}.
 * @throws {TypeError|RangeError} for a bad input kind or option (names it).
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for input in a format `inputFormats` does not
 * allow (SVG and PDF by default, refused from its bytes), for corrupt, truncated, empty or
 * non-image input and over `limitInputPixels`; sharp's error is the `cause` where it raised one.
 * @throws {SlabioTimeoutError} `ERR_SLABIO_TIMEOUT` when libvips stopped at `timeoutSeconds`.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` above `maxInputBytes` or `maxOutputBytes`.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait, or for
 * pixels larger than the pool's whole budget.
 * @throws `signal.reason` on abort.
 * @example
 * ```ts
 * import { decodeRaw } from 'slabio/sharp';
 * using image = await decodeRaw(upload, { maxOutputBytes: 64 << 20 });
 * const { width, height, channels } = image;
 * const pixels = image.lease.buffer; // width * height * channels bytes
 * ```
 */
export async function decodeRaw(input: ImageInput, options?: DecodeRawOptions): Promise<RawImage> {
  const s = resolveImageOptions(options);
  const build = functionOption('options.build', options?.build);
  s.signal?.throwIfAborted();
  const held = await openInput(input, s);
  let reserved: Lease | undefined;
  try {
    let image = createSharp(held.bytes, s);
    let meta: Metadata | undefined;
    if (build === undefined) {
      try {
        meta = await image.metadata();
      } catch (err) {
        s.signal?.throwIfAborted();
        throw badInput(err, 'image header could not be read');
      }
      reserved = await acquire(rawBytesFromHeader(meta, s), s, held);
      // sharp would widen grey to RGB: three times the memory for the same information.
      if (isPlainGrey(meta)) image = image.toColourspace('b-w');
    } else {
      image = await applyBuild(image, build);
    }
    const { data, info } = await runPipeline(image.raw(), s, meta);
    // libvips has let go of the input: give it back before any other wait for memory.
    held.release();
    const sized = reserved;
    reserved = undefined; // copyIntoLease consumes it: returns it filled or releases it
    const lease = await copyIntoLease(data, s, sized, held);
    return {
      lease,
      width: info.width,
      height: info.height,
      channels: info.channels,
      [Symbol.dispose]: () => lease[Symbol.dispose](),
    };
  } finally {
    reserved?.release();
    held.release();
  }
}
