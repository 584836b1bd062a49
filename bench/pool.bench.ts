/**
 * acquire + release from a BufferPool vs `Buffer.allocUnsafe` vs `Buffer.alloc`, per size.
 *
 * Run: `npm run bench -- pool` (add `--json` for machine output).
 * The churn benchmark (`churn.bench.ts`) measures what this means for GC and RSS.
 */
import { Bench } from 'tinybench';
import { BufferPool } from '../src/index.js';
import { environment, table, wantsJson } from './harness.js';

const KiB = 1024;
const sizes = [100 * KiB, 200 * KiB, 300 * KiB, 1024 * KiB, 8192 * KiB];
const label = (n: number): string => (n >= 1024 * KiB ? `${n / 1024 / KiB} MiB` : `${n / KiB} KiB`);

interface Row {
  size: string;
  task: string;
  opsPerSec: number;
  rmePercent: number;
  vsAllocUnsafe: number;
}

let sink = 0;

/**
 * Operations per task call. tinybench reads the clock around every call, and a clock read costs
 * about as much as a pooled acquire+release here, so each call runs a batch and ops/s is
 * calls/s × BATCH. Both sides of every comparison are batched the same way.
 */
const BATCH = 32;

async function main(): Promise<void> {
  const pool = new BufferPool({ maxBytes: 256 * 1024 * KiB });
  const debugPool = new BufferPool({ maxBytes: 256 * 1024 * KiB, debug: true });
  const rows: Row[] = [];
  for (const size of sizes) {
    const bench = new Bench({ time: 400, warmupTime: 100 });
    bench
      .add('pool acquire+release', () => {
        for (let i = 0; i < BATCH; i++) {
          const lease = pool.acquire(size);
          sink ^= lease.buffer.length;
          lease.release();
        }
      })
      .add('Buffer.allocUnsafe', () => {
        for (let i = 0; i < BATCH; i++) sink ^= Buffer.allocUnsafe(size).length;
      })
      .add('Buffer.alloc', () => {
        for (let i = 0; i < BATCH; i++) sink ^= Buffer.alloc(size).length;
      });
    if (size === 100 * KiB) {
      // What debug mode costs: poison (fill 0xDE) alone, and poison + detach (its real behaviour).
      bench
        .add('pool + poison only', () => {
          for (let i = 0; i < BATCH; i++) {
            const lease = pool.acquire(size);
            lease.buffer.fill(0xde);
            lease.release();
          }
        })
        .add('pool debug (poison+detach)', () => {
          for (let i = 0; i < BATCH; i++) debugPool.acquire(size).release();
        });
    }
    await bench.run();
    const base = bench.getTask('Buffer.allocUnsafe')?.result;
    const baseOps = base && 'throughput' in base ? base.throughput.mean : Number.NaN;
    for (const task of bench.tasks) {
      const r = task.result;
      if (!('throughput' in r)) throw new Error(`${task.name} did not complete`);
      rows.push({
        size: label(size),
        task: task.name,
        opsPerSec: r.throughput.mean * BATCH,
        rmePercent: r.throughput.rme,
        vsAllocUnsafe: r.throughput.mean / baseOps,
      });
    }
  }
  pool.close();
  debugPool.close();
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), rows }));
    return;
  }
  console.log(`pool.bench — ${environment()}\n`);
  console.log(
    table(
      ['size', 'task', 'ops/s', '±', 'vs allocUnsafe'],
      rows.map((r) => [
        r.size,
        r.task,
        Math.round(r.opsPerSec).toLocaleString('en-US'),
        `${r.rmePercent.toFixed(1)}%`,
        `${r.vsAllocUnsafe.toFixed(2)}×`,
      ]),
    ),
  );
  if (sink === 0.5) console.log(sink);
}

await main();
