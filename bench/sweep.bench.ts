/**
 * What the automatic sweep of stale temp files costs: the first atomic write a process makes into
 * a directory of N entries (which reads at most 10,000 of them) against the same process's second
 * write there (no sweep), and `sweepStale` reading the whole directory. The baseline for the first
 * write is the empty directory: a first write also loads the addon and probes the filesystem.
 *
 * Each first write runs in a fresh child process (the sweep happens once per directory per
 * process); the children are interleaved across sizes so drift on a shared machine hits all alike.
 *
 * Run: `npm run build && node dist/bench/sweep.bench.js [--json] [--runs 7] [--sizes 0,1000,10000,100000]`
 * Directories go to os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sweepStale, writeFileNoCache } from '../src/index.js';
import { median, positiveInteger, printResults, runChild, table } from './harness.js';

interface ChildResult {
  firstMs: number;
  secondMs: number;
}

async function child(dir: string, tag: string): Promise<void> {
  const a = join(dir, `a-${tag}`);
  const b = join(dir, `b-${tag}`);
  const t0 = performance.now();
  await writeFileNoCache(a, 'x', { atomic: true });
  const t1 = performance.now();
  await writeFileNoCache(b, 'x', { atomic: true });
  const t2 = performance.now();
  await Promise.all([unlink(a), unlink(b)]);
  const result: ChildResult = { firstMs: t1 - t0, secondMs: t2 - t1 };
  console.log(JSON.stringify(result));
}

interface Row {
  entries: number;
  firstMs: number;
  secondMs: number;
  /** First write minus the first write into the empty directory. */
  sweepMs: number;
  fullSweepMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '7' },
      sizes: { type: 'string', default: '0,1000,10000,100000' },
    },
  });
  const runs = positiveInteger('runs', values.runs);
  const sizes = values.sizes.split(',').map(Number);
  if (!sizes.includes(0)) sizes.unshift(0);
  const script = fileURLToPath(import.meta.url);
  const results = new Map<number, ChildResult[]>(sizes.map((n) => [n, []]));
  const full = new Map<number, number[]>(sizes.map((n) => [n, []]));
  // One directory per size, all there at once so the children can be interleaved.
  const dirs = await Promise.all(sizes.map(() => mkdtemp(join(tmpdir(), 'slabio-bench-sweep-'))));
  try {
    for (const [k, n] of sizes.entries()) {
      for (let f = 0; f < n; f++)
        closeSync(openSync(join(dirs[k] as string, `photo-${f}.jpg`), 'w'));
    }
    for (let r = 0; r < runs; r++) {
      for (const [k, n] of sizes.entries()) {
        const dir = dirs[k] as string;
        results.get(n)?.push(await runChild<ChildResult>(script, ['--child', dir, `${r}`]));
      }
    }
    for (const [k, n] of sizes.entries()) {
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await sweepStale(dirs[k] as string);
        full.get(n)?.push(performance.now() - t0);
      }
    }
  } finally {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
  const base = median((results.get(0) ?? []).map((r) => r.firstMs));
  const rows: Row[] = sizes.map((n) => {
    const firstMs = median((results.get(n) ?? []).map((r) => r.firstMs));
    return {
      entries: n,
      firstMs,
      secondMs: median((results.get(n) ?? []).map((r) => r.secondMs)),
      sweepMs: firstMs - base,
      fullSweepMs: median(full.get(n) ?? []),
    };
  });
  printResults('sweep.bench — automatic sweep before the first atomic write', { runs, rows }, () =>
    table(
      ['entries', 'first write ms', 'second write ms', 'first − empty dir', 'sweepStale ms'],
      rows.map((r) => [
        r.entries.toLocaleString('en-US'),
        r.firstMs.toFixed(2),
        r.secondMs.toFixed(2),
        r.sweepMs.toFixed(2),
        r.fullSweepMs.toFixed(2),
      ]),
    ),
  );
}

if (process.argv[2] === '--child')
  await child(process.argv[3] as string, process.argv[4] as string);
else await main();
