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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import qrcode from 'qrcode';
import { residency } from '../src/index.js';
import { qrBatch, renderQr } from '../src/integrations/qrcode.js';
import { environment, mib, runChild, sampleMemory, table, trackGc, wantsJson } from './harness.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});
const count = Number(values.count);
const runs = Number(values.runs);
if (!Number.isInteger(count) || count < 1)
  throw new RangeError(`--count must be ≥ 1, got ${values.count}`);
if (!Number.isInteger(runs) || runs < 1)
  throw new RangeError(`--runs must be ≥ 1, got ${values.runs}`);

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

interface ChildResult {
  codesPerS: number;
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
  meanPngBytes: number;
  cacheBytes: number;
}

async function child(name: string, dir: string): Promise<ChildResult> {
  const v = variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`unknown variant ${name}`);
  const warm = Math.min(100, count);
  await v.run(warm, 1_000_000, dir); // JIT warm-up on other texts (and other file names)
  const gc = trackGc();
  const mem = sampleMemory(5);
  const t0 = process.hrtime.bigint();
  const bytes = await v.run(count, 0, dir);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  mem.sample();
  mem.stop();
  await gc.stop(); // waits for late 'gc' entries
  let cacheBytes = 0;
  if (v.files) {
    for (let i = 0; i < count; i++) {
      cacheBytes += (await residency(join(dir, `qr-${i}.png`))).cachedBytes;
    }
  }
  return {
    codesPerS: count / seconds,
    gcCount: gc.count,
    gcPauseMs: gc.pauseMs,
    peakRss: mem.peakRss,
    peakArrayBuffers: mem.peakArrayBuffers,
    meanPngBytes: bytes / count,
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
      const dir = await mkdtemp(join(tmpdir(), 'slabio-bench-qr-'));
      try {
        const res = await runChild<ChildResult>(script, [
          '--child',
          v.name,
          '--dir',
          dir,
          '--count',
          String(count),
        ]);
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
      codesPerS: pick((x) => x.codesPerS),
      min: Math.min(...rs.map((x) => x.codesPerS)),
      max: Math.max(...rs.map((x) => x.codesPerS)),
      vsBaseline: 0,
      gcCount: pick((x) => x.gcCount),
      gcPauseMs: pick((x) => x.gcPauseMs),
      peakRssMiB: Number(mib(pick((x) => x.peakRss))),
      peakArrayBuffersMiB: Number(mib(pick((x) => x.peakArrayBuffers))),
      meanPngBytes: Math.round(pick((x) => x.meanPngBytes)),
      cacheMiB: v.files ? Number(mib(Math.max(...rs.map((x) => x.cacheBytes)))) : null,
    };
  });
  for (const row of rows) {
    const base = rows.find((x) => x.name === row.baseline)?.codesPerS ?? row.codesPerS;
    row.vsBaseline = row.codesPerS / base;
  }
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), count, runs, rows }, null, 2));
    return;
  }
  console.log(
    `${count} QR codes (PNG, level M, scale 4, margin 4), median of ${runs} interleaved runs`,
  );
  console.log(environment());
  console.log(
    table(
      [
        'variant',
        'codes/s',
        'min–max',
        'vs baseline',
        'GCs',
        'GC pause ms',
        'peak RSS MiB',
        'peak arrayBuffers MiB',
        'PNG bytes',
        'page cache left MiB',
      ],
      rows.map((r) => [
        r.name,
        r.codesPerS.toFixed(0),
        `${r.min.toFixed(0)}–${r.max.toFixed(0)}`,
        `${r.vsBaseline.toFixed(2)}× ${r.baseline}`,
        String(r.gcCount),
        r.gcPauseMs.toFixed(1),
        r.peakRssMiB.toFixed(1),
        r.peakArrayBuffersMiB.toFixed(1),
        r.meanPngBytes === 0 ? '-' : String(r.meanPngBytes),
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
