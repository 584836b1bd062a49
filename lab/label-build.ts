/**
 * The label sheet PDF as a module export, so the slabio job can draw it on a render worker:
 * the same drawing as the naive job's, from plain data (names and QR payloads).
 *
 * @module
 */
import type { PdfBuildContext } from '../src/integrations/pdfkit/index.js';
import { renderQr } from '../src/integrations/qrcode/index.js';
import { labelText, layoutLabels } from './job-shared.js';

/** What one sheet needs: each label's file name and QR payload, in order. */
export interface LabelSheet {
  labels: { name: string; qr: string }[];
}

/** Draw `data.labels`, 4 × 5 to an A4 page, each a QR code and its caption. */
export function drawLabels(doc: PDFKit.PDFDocument, data: LabelSheet, ctx: PdfBuildContext): void {
  for (const cell of layoutLabels(data.labels.length)) {
    if (cell.newPage) doc.addPage();
    const label = data.labels[cell.index] as LabelSheet['labels'][number];
    const qr = renderQr(label.qr, { errorCorrectionLevel: 'M', scale: 4, margin: 4 });
    doc.image(ctx.own(qr), cell.x, cell.y, { width: cell.size });
    doc.fontSize(7).text(labelText(label.name), cell.x, cell.y + cell.size + 2, {
      width: cell.size,
    });
  }
}
