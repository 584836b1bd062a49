/**
 * The report PDF of the workers benchmark as a module export, so `renderPdfInWorker` can run it
 * in a worker and `renderPdf` on the main thread: `pages` A4 pages of 20 QR codes and a paragraph.
 */
import type { PdfBuildContext } from '../src/integrations/pdfkit/index.js';
import { renderQr } from '../src/integrations/qrcode/index.js';

const paragraph = 'Batch report line with some numbers 0123456789 and words. '.repeat(12);

/** Draw the report for `data.seed`; the QR codes are rendered here, as a real build would. */
export function report(
  doc: PDFKit.PDFDocument,
  data: { pages: number; seed: number },
  context: PdfBuildContext,
): void {
  for (let p = 0; p < data.pages; p++) {
    if (p > 0) doc.addPage();
    doc.fontSize(8).text(paragraph, 36, 36, { width: 523 });
    for (let i = 0; i < 20; i++) {
      const png = context.own(renderQr(`https://example.com/r/${data.seed}/${p}/${i}`));
      doc.image(png, 50 + (i % 4) * 130, 140 + Math.floor(i / 4) * 135, { width: 112 });
    }
  }
}
