/**
 * Churn: 20 000 buffers of random size in 100–300 KiB, 8 alive at a time, each filled as a
 * decoder would fill it. Pooled leases vs `Buffer.allocUnsafe`, each variant in its own child
 * process so RSS and GC counts are its own. Reports ops/s, GC count and pause, peak RSS and
 * peak `arrayBuffers`, and RSS at the end.
 *
 * Run: `npm run bench -- churn` (`--json`, `--runs N` (default 5),
 * `--ops N`).
 */
import { fileURLToPath } from 'node:url';
import { BufferPool, type Lease } from '../src/index.js';
import {
  columnTable,
  environment,
  gcColumns,
  interleave,
  measure,
  median,
  mib,
  runChild,
  wantsJson,
} from './harness.js';

const KiB = 1024;
const LIVE = 8;

interface Result {
  variant: string;
  ops: number;
  opsPerSec: number;
  gcCount: number;
  gcPauseMs: number;
  peakRssBytes: number;
  peakArrayBuffersBytes: number;
  finalRssBytes: number;
}

/** Deterministic sizes (xorshift32) so both variants see the same sequence. */
function* sizes(n: number): Generator<number> {
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield 100 * KiB + ((x >>> 0) % (200 * KiB + 1));
  }
}

async function runVariant(variant: string, ops: number): Promise<Result> {
  const m = await measure(async () => {
    if (variant === 'slabio pool') {
      const pool = new BufferPool({ maxBytes: 64 * 1024 * KiB });
      const live: Array<Lease | undefined> = new Array(LIVE);
      let i = 0;
      for (const size of sizes(ops)) {
        const slot = i++ % LIVE;
        live[slot]?.release();
        const lease = pool.acquire(size);
        lease.buffer.fill(i & 0xff);
        live[slot] = lease;
        // Yield like a service would between requests: timers (the RSS sampler) and GC observer run.
        if ((i & 63) === 0) await yieldToLoop();
      }
      for (const lease of live) lease?.release();
      pool.close();
    } else {
      const live: Array<Buffer | undefined> = new Array(LIVE);
      let i = 0;
      for (const size of sizes(ops)) {
        const buffer = Buffer.allocUnsafe(size);
        buffer.fill(i & 0xff);
        live[i++ % LIVE] = buffer;
        // Yield like a service would between requests: timers (the RSS sampler) and GC observer run.
        if ((i & 63) === 0) await yieldToLoop();
      }
    }
  });
  return {
    variant,
    ops,
    opsPerSec: ops / m.seconds,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    peakRssBytes: m.peakRss,
    peakArrayBuffersBytes: m.peakArrayBuffers,
    finalRssBytes: process.memoryUsage().rss,
  };
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i === -1 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer`);
  return value;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--variant');
  const ops = option('--ops', 20_000);
  if (child !== -1) {
    // GC observer entries are delivered asynchronously: let them arrive before reporting.
    const result = await runVariant(process.argv[child + 1] ?? '', ops);
    console.log(JSON.stringify(result));
    return;
  }
  const script = fileURLToPath(import.meta.url);
  const runs = option('--runs', 5);
  // Interleaved runs, medians reported: one run of each is at the mercy of a noisy neighbour
  // (measured here: the ops/s ratio of single runs ranged 1.35×–2.64× within minutes).
  const variants = [{ name: 'Buffer.allocUnsafe' }, { name: 'slabio pool' }];
  const all = await interleave(variants, runs, (v) =>
    runChild<Result>(script, ['--variant', v.name, '--ops', String(ops)]),
  );
  const results = variants.map((v): Result & { minOps: number; maxOps: number } => {
    const rs = all.get(v.name) ?? [];
    const med = (f: (r: Result) => number): number => median(rs.map(f));
    const opsList = rs.map((r) => r.opsPerSec);
    return {
      variant: v.name,
      ops,
      opsPerSec: med((r) => r.opsPerSec),
      minOps: Math.min(...opsList),
      maxOps: Math.max(...opsList),
      gcCount: med((r) => r.gcCount),
      gcPauseMs: med((r) => r.gcPauseMs),
      peakRssBytes: med((r) => r.peakRssBytes),
      peakArrayBuffersBytes: med((r) => r.peakArrayBuffersBytes),
      finalRssBytes: med((r) => r.finalRssBytes),
    };
  });
  if (wantsJson()) {
    console.log(
      JSON.stringify({ environment: environment(), runs, results, raw: Object.fromEntries(all) }),
    );
    return;
  }
  const base = results[0] as Result;
  console.log(
    `churn.bench — ${ops} buffers of 100–300 KiB, ${LIVE} alive at a time, each filled; median of ${runs} interleaved runs`,
  );
  console.log(`${environment()}\n`);
  console.log(
    columnTable(results, [
      { header: 'variant', cell: (r) => r.variant },
      { header: 'ops/s', cell: (r) => Math.round(r.opsPerSec).toLocaleString('en-US') },
      {
        header: 'min–max',
        cell: (r) => `${Math.round(r.minOps / 1000)}k–${Math.round(r.maxOps / 1000)}k`,
      },
      { header: 'vs base', cell: (r) => `${(r.opsPerSec / base.opsPerSec).toFixed(2)}×` },
      ...gcColumns(),
      { header: 'peak RSS MiB', cell: (r) => mib(r.peakRssBytes) },
      { header: 'peak arrayBuffers MiB', cell: (r) => mib(r.peakArrayBuffersBytes) },
      { header: 'final RSS MiB', cell: (r) => mib(r.finalRssBytes) },
    ]),
  );
}

await main();
