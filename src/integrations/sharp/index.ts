/**
 * `slabio/sharp`: image decode and transform with sharp into pooled leases, with decompression
 * bomb limits and container-friendly sharp settings. Needs the optional peer dependency `sharp`.
 *
 * @module
 */
export {
  type ConfigureSharpOptions,
  configureSharp,
  type SharpCacheLimits,
  type SharpConfigReport,
} from './configure.js';
export { type DecodeRawOptions, decodeRaw, type RawImage } from './decode-raw.js';
export {
  DEFAULT_INPUT_FORMATS,
  IMAGE_INPUT_FORMATS,
  type ImageInputFormat,
} from './formats.js';
export type { ImageInput } from './input.js';
export {
  DEFAULT_LIMIT_INPUT_PIXELS,
  DEFAULT_MAX_INPUT_BYTES,
  type SharpInputOptions,
  type TransformImageOptions,
} from './options.js';
export type { BuildPipeline } from './pipeline.js';
export { type ImageInfo, type ImageLease, transformImage } from './transform.js';
