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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PDFDocument from 'pdfkit';
import { residency } from '../src/index.js';
import { type PdfBuild, renderPdf } from '../src/integrations/pdfkit.js';
import { renderQr } from '../src/integrations/qrcode.js';
import { environment, mib, runChild, sampleMemory, table, trackGc, wantsJson } from './harness.js';

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
const count = Number(values.count);
const pages = Number(values.pages);
const runs = Number(values.runs);
for (const [name, v] of [
  ['count', count],
  ['pages', pages],
  ['runs', runs],
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be ≥ 1, got ${v}`);
}

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

interface ChildResult {
  pdfsPerS: number;
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
  meanPdfBytes: number;
  cacheBytes: number;
}

async function child(name: string, dir: string): Promise<ChildResult> {
  const v = variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`unknown variant ${name}`);
  for (let i = 0; i < Math.min(10, count); i++) await v.run(join(dir, `warm-${i}.pdf`));
  const gc = trackGc();
  const mem = sampleMemory(5);
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += await v.run(join(dir, `report-${i}.pdf`));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  mem.sample();
  mem.stop();
  await gc.stop(); // waits for late 'gc' entries
  let cacheBytes = 0;
  if (v.files) {
    for (let i = 0; i < count; i++) {
      cacheBytes += (await residency(join(dir, `report-${i}.pdf`))).cachedBytes;
    }
  }
  return {
    pdfsPerS: count / seconds,
    gcCount: gc.count,
    gcPauseMs: gc.pauseMs,
    peakRss: mem.peakRss,
    peakArrayBuffers: mem.peakArrayBuffers,
    meanPdfBytes: bytes / count,
    cacheBytes,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const results = new Map<string, ChildResult[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const dir = await mkdtemp(join(tmpdir(), 'slabio-bench-pdf-'));
      try {
        const args = ['--child', v.name, '--dir', dir, '--count', String(count)];
        const res = await runChild<ChildResult>(script, [...args, '--pages', String(pages)]);
        results.get(v.name)?.push(res);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  const rows = variants.map((v) => {
    const rs = results.get(v.name) ?? [];
    const pick = (f: (x: ChildResult) => number): number => median(rs.map(f));
    return {
      name: v.name,
      baseline: v.baseline,
      pdfsPerS: pick((x) => x.pdfsPerS),
      min: Math.min(...rs.map((x) => x.pdfsPerS)),
      max: Math.max(...rs.map((x) => x.pdfsPerS)),
      vsBaseline: 0,
      gcCount: pick((x) => x.gcCount),
      gcPauseMs: pick((x) => x.gcPauseMs),
      peakRssMiB: Number(mib(pick((x) => x.peakRss))),
      peakArrayBuffersMiB: Number(mib(pick((x) => x.peakArrayBuffers))),
      meanPdfKiB: Math.round(pick((x) => x.meanPdfBytes) / 1024),
      cacheMiB: v.files ? Number(mib(Math.max(...rs.map((x) => x.cacheBytes)))) : null,
    };
  });
  for (const row of rows) {
    const base = rows.find((x) => x.name === row.baseline)?.pdfsPerS ?? row.pdfsPerS;
    row.vsBaseline = row.pdfsPerS / base;
  }
  if (wantsJson()) {
    const head = { environment: environment(), count, pages, runs };
    console.log(JSON.stringify({ ...head, rows }, null, 2));
    return;
  }
  console.log(
    `${count} PDFs of ${pages} A4 pages (20 QR images + a paragraph each), median of ${runs} interleaved runs`,
  );
  console.log(environment());
  console.log(
    table(
      [
        'variant',
        'PDFs/s',
        'min–max',
        'vs baseline',
        'GCs',
        'GC pause ms',
        'peak RSS MiB',
        'peak arrayBuffers MiB',
        'PDF KiB',
        'page cache left MiB',
      ],
      rows.map((r) => [
        r.name,
        r.pdfsPerS.toFixed(1),
        `${r.min.toFixed(1)}–${r.max.toFixed(1)}`,
        `${r.vsBaseline.toFixed(2)}× ${r.baseline}`,
        String(r.gcCount),
        r.gcPauseMs.toFixed(1),
        r.peakRssMiB.toFixed(1),
        r.peakArrayBuffersMiB.toFixed(1),
        String(r.meanPdfKiB),
        r.cacheMiB === null ? '-' : r.cacheMiB.toFixed(2),
      ]),
    ),
  );
}

if (values.child !== undefined) {
  const result = await child(values.child, values.dir ?? tmpdir());
  console.log(JSON.stringify(result));
} else {
  await main();
}
