/**
 * PDF report batch: QR codes laid out 20 per page (4 columns × 5 rows on A4) into PDF files, each
 * rendered into pooled blocks and written through the no-cache writer. The QR images are pooled
 * leases handed to the document with `context.own()`.
 *
 * Run: `npm run build && node dist/examples/pdf-report.js [--count 2000] [--per-pdf 100] [--out DIR]`
 *
 * Defaults: 200 codes, 100 per PDF (2 PDFs of 5 pages), written to a temporary directory under
 * os.tmpdir() that is removed at the end. With `--out DIR` the files are kept there (the
 * directory must exist). `--count 2000` is a full-size batch: 20 PDFs, 100 pages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getDefaultPool, residency, UnsupportedError } from 'slabio';
import { renderPdf } from 'slabio/pdfkit';
import { renderQr } from 'slabio/qrcode';

/** Codes per page. */
export const PER_PAGE = 20;
const COLUMNS = 4;
const ROWS = 5;
// A4 in points (1/72 inch), as pdfkit's 'A4' size.
const PAGE_WIDTH = 595.28;
const PAGE_HEIGHT = 841.89;
const MARGIN = 36;
const HEADER = 28;
const CELL_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / COLUMNS;
const CELL_HEIGHT = (PAGE_HEIGHT - 2 * MARGIN - HEADER) / ROWS;
/** Side of each QR image on the page, in points. */
export const QR_SIZE = 112;

/** Where the `index`-th code of a PDF goes: its page (0-based) and the image's top-left corner in points. */
export function cell(index: number): { page: number; x: number; y: number } {
  const onPage = index % PER_PAGE;
  const column = onPage % COLUMNS;
  const row = Math.floor(onPage / COLUMNS);
  return {
    page: Math.floor(index / PER_PAGE),
    x: MARGIN + column * CELL_WIDTH + (CELL_WIDTH - QR_SIZE) / 2,
    y: MARGIN + HEADER + row * CELL_HEIGHT + 4,
  };
}

/** The id and the encoded text of code number `n` (1-based) of the batch. */
export function code(n: number): { id: string; text: string } {
  const id = `ticket-${String(n).padStart(5, '0')}`;
  return { id, text: `https://example.com/t/${n}?check=${(n * 7919) % 10007}` };
}

/** Render one PDF of codes `first .. first + count - 1` to `path`. */
async function writeReport(path: string, report: number, first: number, count: number) {
  const pages = Math.ceil(count / PER_PAGE);
  return renderPdf(
    (doc, context) => {
      for (let i = 0; i < count; i++) {
        const { page, x, y } = cell(i);
        if (i % PER_PAGE === 0) {
          if (page > 0) doc.addPage();
          doc.fontSize(12).text(`Report ${report}, page ${page + 1} of ${pages}`, MARGIN, MARGIN);
        }
        const { id, text } = code(first + i);
        // The lease stays with renderPdf until the file is written: pdfkit may read it late.
        const png = context.own(renderQr(text, { scale: 4, margin: 4 }));
        doc.image(png, x, y, { width: QR_SIZE, height: QR_SIZE });
        doc.fontSize(8).text(id, x, y + QR_SIZE + 2, { width: QR_SIZE, align: 'center' });
      }
    },
    {
      path,
      document: { size: 'A4', margin: MARGIN, info: { Title: `Report ${report}` } },
      // A report of 100 codes is about 150 KiB: anything near 16 MiB is a bug, not a report.
      maxBytes: 16 << 20,
    },
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '200' },
      'per-pdf': { type: 'string', default: '100' },
      out: { type: 'string' },
    },
  });
  const count = Number(values.count);
  const perPdf = Number(values['per-pdf']);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`--count ${values.count}`);
  if (!Number.isInteger(perPdf) || perPdf < 1)
    throw new RangeError(`--per-pdf ${values['per-pdf']}`);
  const dir = values.out ?? (await mkdtemp(join(tmpdir(), 'slabio-example-pdf-')));
  try {
    const started = performance.now();
    let bytes = 0;
    let files = 0;
    let pages = 0;
    let last = '';
    for (let first = 1; first <= count; first += perPdf) {
      files++;
      const path = join(dir, `report-${String(files).padStart(3, '0')}.pdf`);
      const codes = Math.min(perPdf, count - first + 1);
      const result = await writeReport(path, files, first, codes);
      bytes += result.bytesWritten;
      pages += Math.ceil(codes / PER_PAGE);
      last = path;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      'wrote %d codes into %d PDFs (%d pages), %d KiB in all, in %s s: %s PDFs/s, %s codes/s',
      count,
      files,
      pages,
      Math.round(bytes / 1024),
      seconds.toFixed(2),
      (files / seconds).toFixed(1),
      Math.round(count / seconds),
    );
    try {
      const { cachedBytes, bytes: size } = await residency(last);
      console.log('last PDF: %d bytes, %d of them still in the page cache', size, cachedBytes);
    } catch (err) {
      // Measuring residency needs the native addon; writing works without it (plain writes).
      if (!(err instanceof UnsupportedError)) throw err;
      console.log('page cache residency not measurable here: %s', err.message);
    }
    const stats = getDefaultPool().stats();
    console.log(
      'pool: %d bytes in use, %d KiB reserved at most, %d hits, %d misses',
      stats.inUseBytes,
      Math.round(stats.highWaterBytes / 1024),
      stats.hits,
      stats.misses,
    );
    if (stats.inUseBytes !== 0) throw new Error('a lease was not released');
  } finally {
    if (values.out === undefined) await rm(dir, { recursive: true, force: true });
  }
}

// Run only as a script: the test suite imports `cell` and `code` to check the layout it decodes.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
