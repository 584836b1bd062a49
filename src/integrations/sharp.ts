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
} from './sharp/configure.js';
export { type DecodeRawOptions, decodeRaw, type RawImage } from './sharp/decode-raw.js';
export {
  DEFAULT_INPUT_FORMATS,
  IMAGE_INPUT_FORMATS,
  type ImageInputFormat,
} from './sharp/formats.js';
export type { ImageInput } from './sharp/input.js';
export {
  DEFAULT_LIMIT_INPUT_PIXELS,
  DEFAULT_MAX_INPUT_BYTES,
  type ImageOptions,
  type SharpInputOptions,
} from './sharp/options.js';
export type { BuildPipeline } from './sharp/pipeline.js';
export { transformImage } from './sharp/transform.js';
