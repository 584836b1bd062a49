/**
 * N report PDFs (pages of 20 QR code images and a paragraph of text): slabio's `renderPdf` vs what
 * pdfkit users write today. In memory: collecting the 'data' chunks with `Buffer.concat` vs a
 * pooled lease. To files: `doc.pipe(fs.createWriteStream(...))` (with and without `flush: true`,
 * i.e. fsync before close) vs `renderPdf({ path })` (atomic, the default, and plain).
 *
 * Each variant runs in its own child process (so one cannot inflate another's RSS), runs are
 * interleaved, and every row reports PDFs/s (median, min–max), the ratio to its baseline, GC count
 * and pause, peak RSS and `arrayBuffers`, mean PDF size and, for files, the page cache the written
 * files still occupy afterwards.
 *
 * Run: `npm run build && node dist/bench/pdfkit.bench.js [--count 200] [--pages 5] [--runs 3] [--json]`
 * (through `npm run bench -- pdfkit` pass values as `--count=200`). Files go to a temporary
 * directory under os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PDFDocument from 'pdfkit';
import { residency } from '../src/index.js';
import { type PdfBuild, renderPdf } from '../src/integrations/pdfkit/index.js';
import { renderQr } from '../src/integrations/qrcode/index.js';
import {
  columnTable,
  gcColumns,
  interleave,
  measure,
  mib,
  mibColumn,
  pageCacheColumn,
  positiveInteger,
  printResults,
  type RunStats,
  rateColumns,
  runChild,
  summarize,
  withTempDir,
} from './harness.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '200' },
    pages: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});
const count = positiveInteger('count', values.count);
const pages = positiveInteger('pages', values.pages);
const runs = positiveInteger('runs', values.runs);

// The QR images are made once, as plain Buffers shared by every variant: the benchmark measures
// the PDF and its output, not QR rendering.
const codes: Buffer[] = Array.from({ length: 20 }, (_, i) => {
  using lease = renderQr(`https://example.com/t/${i}?k=${(i * 2654435761) >>> 0}`);
  return Buffer.from(lease.buffer);
});
const paragraph = 'Batch report line with some numbers 0123456789 and words. '.repeat(12);

/** `pages` A4 pages, 20 QR codes (4 × 5) and a paragraph each, reproducible bytes. */
const build: PdfBuild = (doc) => {
  for (let p = 0; p < pages; p++) {
    if (p > 0) doc.addPage();
    doc.fontSize(8).text(paragraph, 36, 36, { width: 523 });
    for (const [i, png] of codes.entries()) {
      doc.image(png, 50 + (i % 4) * 130, 140 + Math.floor(i / 4) * 135, { width: 112 });
    }
  }
};
const documentOptions = { size: 'A4', info: { CreationDate: new Date(0) } };

interface Variant {
  name: string;
  baseline: string;
  files: boolean;
  /** Render one PDF (into `path` for file variants); returns its size in bytes. */
  run(path: string): Promise<number>;
}

async function pipeToFile(path: string, flush: boolean): Promise<number> {
  const doc = new PDFDocument(documentOptions);
  const out = createWriteStream(path, { flush });
  doc.pipe(out);
  build(doc, undefined as never);
  doc.end();
  await finished(out);
  return out.bytesWritten;
}

const variants: Variant[] = [
  {
    name: "on('data') + Buffer.concat",
    baseline: "on('data') + Buffer.concat",
    files: false,
    async run() {
      const doc = new PDFDocument(documentOptions);
      const chunks: Buffer[] = [];
      doc.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = finished(doc);
      build(doc, undefined as never);
      doc.end();
      await ended;
      return Buffer.concat(chunks).length;
    },
  },
  {
    name: 'renderPdf → lease',
    baseline: "on('data') + Buffer.concat",
    files: false,
    async run() {
      using lease = await renderPdf(build, { document: documentOptions });
      return lease.buffer.length;
    },
  },
  {
    name: 'doc.pipe(createWriteStream)',
    baseline: 'doc.pipe(createWriteStream)',
    files: true,
    run: (path) => pipeToFile(path, false),
  },
  {
    name: 'renderPdf path, atomic: false',
    baseline: 'doc.pipe(createWriteStream)',
    files: true,
    async run(path) {
      return (await renderPdf(build, { path, atomic: false, document: documentOptions }))
        .bytesWritten;
    },
  },
  {
    name: 'createWriteStream flush: true',
    baseline: 'createWriteStream flush: true',
    files: true,
    run: (path) => pipeToFile(path, true),
  },
  {
    name: 'renderPdf path (atomic)',
    baseline: 'createWriteStream flush: true',
    files: true,
    async run(path) {
      return (await renderPdf(build, { path, document: documentOptions })).bytesWritten;
    },
  },
];

interface ChildResult extends RunStats {
  pdfsPerS: number;
  meanPdfBytes: number;
  cacheBytes: number;
}

async function child(name: string, dir: string): Promise<ChildResult> {
  const v = variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`unknown variant ${name}`);
  for (let i = 0; i < Math.min(10, count); i++) await v.run(join(dir, `warm-${i}.pdf`));
  const m = await measure(async () => {
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += await v.run(join(dir, `report-${i}.pdf`));
    return bytes;
  });
  let cacheBytes = 0;
  if (v.files) {
    for (let i = 0; i < count; i++) {
      cacheBytes += (await residency(join(dir, `report-${i}.pdf`))).cachedBytes;
    }
  }
  return {
    pdfsPerS: count / m.seconds,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    peakRss: m.peakRss,
    peakArrayBuffers: m.peakArrayBuffers,
    meanPdfBytes: m.value / count,
    cacheBytes,
  };
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const results = await interleave(variants, runs, (v) =>
    withTempDir('slabio-bench-pdf-', (dir) => {
      const args = ['--child', v.name, '--dir', dir, '--count', String(count)];
      return runChild<ChildResult>(script, [...args, '--pages', String(pages)]);
    }),
  );
  const rows = summarize(variants, results, 'pdfsPerS', (v, rs, pick) => ({
    meanPdfKiB: Math.round(pick((x) => x.meanPdfBytes) / 1024),
    cacheMiB: v.files ? Number(mib(Math.max(...rs.map((x) => x.cacheBytes)))) : null,
  }));
  printResults(
    `${count} PDFs of ${pages} A4 pages (20 QR images + a paragraph each), median of ${runs} interleaved runs`,
    { count, pages, runs, rows },
    () =>
      columnTable(rows, [
        ...rateColumns('pdfsPerS', 'PDFs/s', 1),
        ...gcColumns(),
        mibColumn('peak RSS MiB', (r) => r.peakRssMiB),
        mibColumn('peak arrayBuffers MiB', (r) => r.peakArrayBuffersMiB),
        { header: 'PDF KiB', cell: (r) => String(r.meanPdfKiB) },
        pageCacheColumn('page cache left MiB'),
      ]),
  );
}

if (values.child !== undefined) {
  const result = await child(values.child, values.dir ?? tmpdir());
  console.log(JSON.stringify(result));
} else {
  await main();
}
