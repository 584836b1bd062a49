/**
 * `slabio/pdfkit`: PDFs rendered with pdfkit into pooled leases, or into files written through the
 * no-cache writer. Needs the optional peer dependency `pdfkit`; `@types/pdfkit`, when in the program,
 * types the document fully (see `PdfDocument`).
 *
 * @module
 */
export { PdfBuildContext } from './build-context.js';
export type { PdfDocument, PdfDocumentOptions } from './document.js';
export type { PdfWriteOptions, RenderPdfOptions } from './options.js';
export { type PdfBuild, type PdfFileResult, renderPdf } from './render.js';
export {
  type PdfWorkerBuild,
  type RenderPdfInWorkerOptions,
  renderPdfInWorker,
} from './worker-render.js';
