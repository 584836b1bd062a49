/**
 * `transformImage`: one sharp pipeline from any input into one pooled lease.
 *
 * @module
 */
import type { OutputInfo } from 'sharp';
import type { Lease } from '../../pool/index.js';
import { checkFunction } from '../../validate.js';
import { type ImageInput, openInput } from './input.js';
import { resolveImageOptions, type TransformImageOptions } from './options.js';
import {
  applyBuild,
  type BuildPipeline,
  copyIntoLease,
  createSharp,
  runPipeline,
} from './pipeline.js';

/**
 * What sharp reports about the encoded output, as `toBuffer({ resolveWithObject: true })` gives
 * it: `format`, `width`, `height`, `channels`, `size` (bytes), `premultiplied`, and the crop, trim
 * and attention offsets, `pages` and `pageHeight` where they apply.
 */
export type ImageInfo = OutputInfo;

/** What {@link transformImage} returns: the lease of the encoded bytes, with sharp's `info`. */
export type ImageLease = Lease & {
  /** The output's description from sharp; `info.size` is `buffer.length`. */
  readonly info: ImageInfo;
};

/**
 * Decode, transform and encode one image with sharp and return the encoded output in a lease from
 * the pool, holding exactly the output's bytes, with sharp's description of it as `lease.info`
 * (width, height, format, channels, size: what `resolveWithObject` gives). The returned value is
 * still a plain lease everywhere one is taken.
 *
 * `build(image)` sets up the pipeline on the sharp instance (`resize`, `rotate`, `jpeg()`, ...) and
 * returns it or nothing; it must not call an output method (`toBuffer`, `toFile`, `pipe`). Without
 * a format call the output has the input's format.
 *
 * Ownership: a lease passed as `input` is read in place and never released by slabio; keep it
 * until this promise settles. A path or stream input is read into a pooled lease that is released
 * before the promise settles. The returned lease is the caller's: release it (or pass it to
 * `writeFileNoCache`, which does).
 *
 * Memory: libvips holds the whole output while it produces it (sharp's stream output pushes it as
 * one chunk at the end, and a running pipeline cannot be stopped at a byte count), so the output's
 * size is worked out from the header and the pipeline's settings first: over `limitOutputPixels`
 * (or, for `raw()`, over `maxOutputBytes`) nothing is rendered. The output is then copied into the
 * lease and sharp's buffer dropped at once, so what the caller holds on to is pooled memory.
 *
 * @param input A lease, `Buffer`/`Uint8Array`, path, file URL, `Readable`, async iterable or web
 * `ReadableStream`; see {@link ImageInput}.
 * @param build Sets up the pipeline; errors it throws pass through unchanged.
 * @param options See {@link TransformImageOptions}.
 * @default options `{ inputFormats: DEFAULT_INPUT_FORMATS, limitInputPixels: 50_000_000, limitOutputPixels: limitInputPixels, maxInputBytes: 64 MiB, maxOutputBytes: Infinity, timeoutSeconds: 0, pool: getDefaultPool() }`
 * @throws {TypeError|RangeError} for a bad input kind, `build` or option (names it).
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for input in a format `inputFormats` does not
 * allow (SVG and PDF by default; refused from its bytes before sharp sees it), for corrupt,
 * truncated, empty or non-image input and for an image over `limitInputPixels` (refused from its
 * header, before decoding); sharp's error is the `cause` where it raised one.
 * @throws {SlabioTimeoutError} `ERR_SLABIO_TIMEOUT` when libvips stopped at `timeoutSeconds`.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` above `maxInputBytes`, `limitOutputPixels`
 * (before rendering) or `maxOutputBytes`.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @throws `signal.reason` on abort.
 * @example
 * ```ts
 * import { writeFileNoCache } from 'slabio';
 * import { transformImage } from 'slabio/sharp';
 * const thumb = await transformImage('upload.jpg', (img) => img.resize(320).webp(), {
 *   signal: AbortSignal.timeout(10_000),
 * });
 * console.log(`${thumb.info.width}x${thumb.info.height} ${thumb.info.format}, ${thumb.info.size} bytes`);
 * await writeFileNoCache('thumb.webp', thumb); // releases the lease
 * ```
 */
export async function transformImage(
  input: ImageInput,
  build: BuildPipeline,
  options?: TransformImageOptions,
): Promise<ImageLease> {
  const s = resolveImageOptions(options);
  checkFunction('build', build);
  s.signal?.throwIfAborted();
  const held = await openInput(input, s);
  let data: Buffer;
  let info: OutputInfo;
  try {
    const image = await applyBuild(createSharp(held.bytes, s), build);
    ({ data, info } = await runPipeline(image, s));
  } finally {
    // libvips has let go of the input once the pipeline settled. Releasing it before the output
    // is leased means no call waits for pool memory while holding some of its own.
    held.release();
  }
  const lease = await copyIntoLease(data, s, undefined, held);
  // A property of this lease, not of Lease: the pool knows nothing of images.
  return Object.defineProperty(lease, 'info', { value: info, enumerable: true }) as ImageLease;
}
