/** PDF builds for the worker tests: module exports, as `renderPdfInWorker` needs them. */

/** A one-page ticket. */
export function ticket(doc: PDFKit.PDFDocument, data: { id: number }): void {
  doc.fontSize(18).text(`Ticket ${data.id}`);
}

/** Throws a coded error of its own. */
export function broken(): void {
  throw Object.assign(new RangeError('no such seat'), { code: 'E_SEAT' });
}

/** Ends the worker thread in the middle of a task. */
export function exits(): void {
  process.exit(3);
}

/** Grows the worker's heap until its resourceLimits kill it. */
export function hog(): void {
  const keep: number[][] = [];
  for (;;) keep.push(new Array(1 << 16).fill(1));
}

/** Keeps the thread busy (bounded), so an abort or close lands mid-task. */
export async function slow(doc: PDFKit.PDFDocument): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  doc.text('late');
}
