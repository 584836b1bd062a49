/**
 * N QR codes as PNG: slabio's `renderQr` / `qrBatch` vs `qrcode.toBuffer`, and `qrBatch` with
 * `outDir` vs `qrcode.toFile`. Each variant runs in its own child process (so one cannot inflate
 * another's RSS), runs are interleaved, and every row reports codes/s (median, min–max), the ratio
 * to the qrcode baseline, GC count and pause, peak RSS and `arrayBuffers`, mean PNG size and, for
 * files, the page cache the written files still occupy afterwards.
 *
 * Run: `npm run build && node dist/bench/qrcode.bench.js [--count 2000] [--runs 3] [--json]`
 * Files go to a temporary directory under os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import qrcode from 'qrcode';
import { residency } from '../src/index.js';
import { qrBatch, renderQr } from '../src/integrations/qrcode/index.js';
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
    count: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});
const count = positiveInteger('count', values.count);
const runs = positiveInteger('runs', values.runs);

// Ticket-like URLs of 27–39 bytes: version-3 symbols (29 × 29 modules) at level M.
const text = (i: number): string => `https://example.com/t/${i}?k=${(i * 2654435761) >>> 0}`;
function* items(n: number, from = 0): Generator<{ id: string; text: string }> {
  for (let i = from; i < from + n; i++) yield { id: `qr-${i}`, text: text(i) };
}

// Synchronous variants yield to the event loop every 100 codes, as a service would, so the
// memory sampler's timer runs during them too.
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Variant {
  name: string;
  baseline: string;
  files: boolean;
  /** Render `n` codes starting at `from`; returns the bytes produced. */
  run(n: number, from: number, dir: string): Promise<number>;
}

const variants: Variant[] = [
  {
    name: 'qrcode.toBuffer',
    baseline: 'qrcode.toBuffer',
    files: false,
    async run(n, from) {
      let bytes = 0;
      for (let i = from; i < from + n; i++) bytes += (await qrcode.toBuffer(text(i))).length;
      return bytes;
    },
  },
  {
    name: 'slabio renderQr',
    baseline: 'qrcode.toBuffer',
    files: false,
    async run(n, from) {
      let bytes = 0;
      for (let i = from; i < from + n; i++) {
        if (i % 100 === 0) await turn();
        using lease = renderQr(text(i));
        bytes += lease.buffer.length;
      }
      return bytes;
    },
  },
  {
    name: 'slabio qrBatch (leases)',
    baseline: 'qrcode.toBuffer',
    files: false,
    async run(n, from) {
      let bytes = 0;
      for await (const { lease } of qrBatch(items(n, from))) {
        bytes += lease.buffer.length;
        lease.release();
      }
      return bytes;
    },
  },
  {
    // Not an alternative: the floor. Every variant pays for qrcode's matrix, slabio included.
    name: 'qrcode.create only (matrix)',
    baseline: 'qrcode.toBuffer',
    files: false,
    async run(n, from) {
      for (let i = from; i < from + n; i++) {
        if (i % 100 === 0) await turn();
        qrcode.create(text(i), { errorCorrectionLevel: 'M' });
      }
      return 0;
    },
  },
  {
    name: 'qrcode.toFile',
    baseline: 'qrcode.toFile',
    files: true,
    async run(n, from, dir) {
      for (let i = from; i < from + n; i++) await qrcode.toFile(join(dir, `qr-${i}.png`), text(i));
      return 0;
    },
  },
  {
    name: 'slabio qrBatch outDir',
    baseline: 'qrcode.toFile',
    files: true,
    async run(n, from, dir) {
      for await (const _ of qrBatch(items(n, from), { outDir: dir })) {
        // files are written and closed before they are yielded
      }
      return 0;
    },
  },
];

interface ChildResult extends RunStats {
  codesPerS: number;
  meanPngBytes: number;
  cacheBytes: number;
}

async function child(name: string, dir: string): Promise<ChildResult> {
  const v = variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`unknown variant ${name}`);
  const warm = Math.min(100, count);
  await v.run(warm, 1_000_000, dir); // JIT warm-up on other texts (and other file names)
  const m = await measure(() => v.run(count, 0, dir));
  let cacheBytes = 0;
  if (v.files) {
    for (let i = 0; i < count; i++) {
      cacheBytes += (await residency(join(dir, `qr-${i}.png`))).cachedBytes;
    }
  }
  return {
    codesPerS: count / m.seconds,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    peakRss: m.peakRss,
    peakArrayBuffers: m.peakArrayBuffers,
    meanPngBytes: m.value / count,
    cacheBytes,
  };
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const results = await interleave(variants, runs, (v) =>
    withTempDir('slabio-bench-qr-', (dir) =>
      runChild<ChildResult>(script, ['--child', v.name, '--dir', dir, '--count', String(count)]),
    ),
  );
  const rows = summarize(variants, results, 'codesPerS', (v, rs, pick) => ({
    meanPngBytes: Math.round(pick((x) => x.meanPngBytes)),
    cacheMiB: v.files ? Number(mib(Math.max(...rs.map((x) => x.cacheBytes)))) : null,
  }));
  printResults(
    `${count} QR codes (PNG, level M, scale 4, margin 4), median of ${runs} interleaved runs`,
    { count, runs, rows },
    () =>
      columnTable(rows, [
        ...rateColumns('codesPerS', 'codes/s', 0),
        ...gcColumns(),
        mibColumn('peak RSS MiB', (r) => r.peakRssMiB),
        mibColumn('peak arrayBuffers MiB', (r) => r.peakArrayBuffersMiB),
        {
          header: 'PNG bytes',
          cell: (r) => (r.meanPngBytes === 0 ? '-' : String(r.meanPngBytes)),
        },
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
