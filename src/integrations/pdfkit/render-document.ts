/**
 * The `PDFDocument` subclass `renderPdf` draws on.
 *
 * @module
 */
import PDFDocument from 'pdfkit';
import type { PdfDocument, PdfDocumentOptions } from './document.js';

const Base = PDFDocument as unknown as new (options?: PdfDocumentOptions) => PdfDocument;

/**
 * A pdfkit document whose `end()` runs once: a build may end the document itself, and a second
 * pdfkit `end()` would push after EOF. A subclass rather than a patched `end` per instance: with a
 * different function object on every document the benchmark's heap grew by about 20 MiB (V8
 * then generalizes the documents' hidden class and pdfkit's hot paths allocate more).
 */
export class RenderDocument extends Base {
  #ended = false;

  override end(): void {
    if (this.#ended) return;
    this.#ended = true;
    super.end();
  }
}
