/**
 * `slabio/qrcode`: QR codes rendered into pooled leases, one at a time or as a batch written
 * through the no-cache file writer. Needs the optional peer dependency `qrcode`.
 *
 * @module
 */
export {
  type QrBatchItem,
  type QrBatchResult,
  type QrFileResult,
  type QrLeaseResult,
  qrBatch,
} from './batch.js';
export type {
  QrBatchOptions,
  QrErrorCorrectionLevel,
  QrFormat,
  QrWriteOptions,
  RenderQrOptions,
} from './options.js';
export { renderQr } from './render.js';
export { type RenderQrInWorkersOptions, renderQrInWorkers } from './worker-render.js';
