/** The PDF build of the render-workers example: a module export, so a worker can run it. */
import type { PdfBuildContext } from 'slabio/pdfkit';
import { renderQr } from 'slabio/qrcode';

/** One ticket page: a title and its QR code. */
export function drawTicket(
  doc: PDFKit.PDFDocument,
  data: { id: number },
  ctx: PdfBuildContext,
): void {
  doc.fontSize(18).text(`Ticket ${data.id}`);
  doc.image(ctx.own(renderQr(`https://example.com/t/${data.id}`, { scale: 8 })), { width: 144 });
}
