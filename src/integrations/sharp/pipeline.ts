/**
 * Running one sharp pipeline: construction, error mapping, and copying its output into the pool.
 * Internal.
 *
 * @module
 */
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { BadInputError, LimitExceededError, SlabioTimeoutError } from '../../errors.js';
import type { Lease } from '../../pool/index.js';
import type { Holder } from '../../pool/wait-queue.js';
import { checkInputFormat } from './formats.js';
import type { ImageSettings } from './options.js';
import { outputSize } from './output-size.js';

/** What `build` gets and may return. */
export type BuildPipeline = (image: Sharp) => Sharp | undefined | Promise<Sharp | undefined>;

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] || err.message : String(err);
}

/**
 * @internal A sharp instance reading `bytes` with slabio's pixel limit, once their format is one
 * of `inputFormats` (raw pixel input has none to check). Constructing it decodes nothing.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for zero bytes (sharp's error is the cause) and
 * for a format `inputFormats` does not allow.
 * @throws sharp's own error for bad `sharpOptions` (a caller mistake, not bad input).
 */
export function createSharp(bytes: Uint8Array, s: ImageSettings): Sharp {
  let image: Sharp;
  try {
    image = sharp(bytes, { ...s.sharpOptions, limitInputPixels: s.limitInputPixels });
  } catch (err) {
    if (bytes.length === 0) {
      throw new BadInputError('image input is empty (0 bytes)', { cause: err });
    }
    throw err;
  }
  if (s.sharpOptions.raw === undefined) checkInputFormat(bytes, s.inputFormats);
  return image;
}

// sharp reports its timeout as libvips' error "timeout: <n>% complete" (sharp's src/common.cc).
const SHARP_TIMEOUT = /(^|\n)timeout: \d+% complete/;

/** @internal Map a libvips/sharp processing failure to `ERR_SLABIO_BAD_INPUT`. */
export function badInput(err: unknown, what: string): BadInputError {
  return new BadInputError(`${what}: ${describe(err)}`, { cause: err });
}

/**
 * @internal Run `build` and check it handed back a sharp instance. Errors it throws pass through
 * unchanged: they are the caller's own (or sharp's validation of the caller's arguments).
 */
export async function applyBuild(image: Sharp, build: BuildPipeline): Promise<Sharp> {
  const built = (await build(image)) ?? image;
  if (!(built instanceof sharp)) {
    throw new TypeError('build must return the sharp instance it was given (or nothing)');
  }
  return built;
}

/**
 * @internal Refuse, before libvips renders anything, an output over `limitOutputPixels` or a raw
 * output that cannot fit `maxOutputBytes`, from the input's header and the pipeline's settings.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT`.
 */
export async function checkOutputSize(
  image: Sharp,
  s: ImageSettings,
  meta?: Metadata,
): Promise<void> {
  if (s.limitOutputPixels === 0 && s.maxOutputBytes === Number.POSITIVE_INFINITY) return;
  let header = meta;
  if (header === undefined) {
    try {
      header = await image.metadata();
    } catch (err) {
      s.signal?.throwIfAborted();
      throw badInput(err, 'image header could not be read');
    }
  }
  const size = outputSize(image, header);
  checkPixels(size.width, size.height, s);
  if (size.minRawBytes !== undefined && size.minRawBytes > s.maxOutputBytes) {
    throw new LimitExceededError(s.maxOutputBytes, size.minRawBytes, 'raw image output');
  }
}

function checkPixels(width: number, height: number, s: ImageSettings): void {
  const pixels = width * height;
  if (s.limitOutputPixels > 0 && pixels > s.limitOutputPixels) {
    throw new LimitExceededError(
      s.limitOutputPixels,
      pixels,
      `image output of ${width}×${height}`,
      'pixels',
    );
  }
}

/**
 * @internal Run the pipeline to the end, or to `timeoutSeconds`, once {@link checkOutputSize}
 * has let it. An abort does not interrupt it: the promise settles only after libvips has let go
 * of the input, so the caller may release it then, also on abort.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` with sharp's error as the cause.
 * @throws {SlabioTimeoutError} `ERR_SLABIO_TIMEOUT` when libvips stopped at `timeoutSeconds`.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` over `limitOutputPixels` or `maxOutputBytes`.
 * @throws `signal.reason` when aborted meanwhile.
 */
export async function runPipeline(
  image: Sharp,
  s: ImageSettings,
  meta?: Metadata,
): Promise<{ data: Buffer; info: OutputInfo }> {
  s.signal?.throwIfAborted();
  await checkOutputSize(image, s, meta);
  s.signal?.throwIfAborted();
  if (s.timeoutSeconds > 0) image.timeout({ seconds: s.timeoutSeconds });
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await image.toBuffer({ resolveWithObject: true });
  } catch (err) {
    s.signal?.throwIfAborted();
    if (s.timeoutSeconds > 0 && err instanceof Error && SHARP_TIMEOUT.test(err.message)) {
      throw new SlabioTimeoutError('image processing', s.timeoutSeconds * 1000, { cause: err });
    }
    throw badInput(err, 'image could not be processed');
  }
  s.signal?.throwIfAborted();
  // The same limits on what was produced: the estimate above covers the geometry sharp's
  // settings describe, this covers the rest.
  checkPixels(result.info.width, result.info.height, s);
  if (result.data.length > s.maxOutputBytes) {
    throw new LimitExceededError(s.maxOutputBytes, result.data.length, 'image output');
  }
  return result;
}

/**
 * @internal A lease of exactly `length` bytes, waiting (abortably) under a `'wait'` pool, as
 * `holder` when the caller holds pool memory meanwhile (the input).
 */
export function acquire(length: number, s: ImageSettings, holder?: Holder): Promise<Lease> {
  const options = s.signal === undefined ? {} : { signal: s.signal };
  return holder === undefined
    ? s.pool.acquireAsync(length, options)
    : s.pool.acquireFor(holder, length, options);
}

/**
 * @internal Copy `data` into `lease` (when it fits exactly) or into a fresh lease of its length.
 * `lease` is consumed: returned or released.
 */
export async function copyIntoLease(
  data: Buffer,
  s: ImageSettings,
  lease?: Lease,
  holder?: Holder,
): Promise<Lease> {
  let target = lease;
  if (target !== undefined && target.buffer.length !== data.length) {
    target.release();
    target = undefined;
  }
  target ??= await acquire(data.length, s, holder);
  data.copy(target.buffer);
  return target;
}
