/**
 * `slabio/pdfkit`: PDFs rendered with pdfkit into pooled leases, or into files written through the
 * no-cache writer. Needs the optional peer dependency `pdfkit` (and `@types/pdfkit` for types).
 *
 * @module
 */
export { PdfBuildContext } from './build-context.js';
export type { PdfWriteOptions, RenderPdfOptions } from './options.js';
export { type PdfBuild, type PdfFileResult, renderPdf } from './render.js';
export {
  type PdfWorkerBuild,
  type RenderPdfInWorkerOptions,
  renderPdfInWorker,
} from './worker-render.js';
