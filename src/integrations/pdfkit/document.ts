/**
 * The two pdfkit types `slabio/pdfkit` names: the document a build draws on and the options of
 * `new PDFDocument(...)`.
 *
 * pdfkit ships no types; `@types/pdfkit` declares them in a global namespace `PDFKit`, which is in
 * a program only when something imports `'pdfkit'` or lists it in `types` (TypeScript 7 includes
 * no `@types` package by default). So this module declares the same two interfaces in
 * that namespace, with only what slabio itself relies on: when `@types/pdfkit` is in the program,
 * interface merging makes them exactly its full `PDFKit.PDFDocument` and `PDFKit.PDFDocumentOptions`;
 * without it a build's `doc` is still a typed byte stream with `end()`, never `any`, and the
 * published declarations type-check with `skipLibCheck` off.
 *
 * @module
 */
import type { Readable } from 'node:stream';

declare global {
  namespace PDFKit {
    /** A pdfkit document: a readable stream of the PDF's bytes that its drawing calls fill. */
    interface PDFDocument extends Readable {
      /** Finish the document: pdfkit writes the trailer and ends the stream. */
      end(): void;
    }
    /** Options of `new PDFDocument(options)` (`size`, `margin`, `info`, `compress`, ...). */
    // Empty: @types/pdfkit's options merge into it; without them any object passes to pdfkit.
    interface PDFDocumentOptions {}
  }
}

/**
 * The document `build` draws on: a fresh pdfkit `PDFDocument`. With `@types/pdfkit` in the
 * program this is its full `PDFKit.PDFDocument` (`doc.text`, `doc.image`, ...); without, only the
 * stream and `end()` are typed. To bring `@types/pdfkit` in without importing pdfkit, list it:
 * `"types": ["node", "pdfkit"]`.
 */
export type PdfDocument = PDFKit.PDFDocument;

/** Options for `new PDFDocument(...)`, passed to pdfkit unchanged (see `PdfDocument` for their types). */
export type PdfDocumentOptions = PDFKit.PDFDocumentOptions;
