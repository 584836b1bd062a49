/**
 * Writing a large file in 1 MiB chunks: slabio's no-cache writer (each strategy) vs
 * `fs.createWriteStream` vs `fs.promises.writeFile`. Reports the median throughput, the ratio of
 * medians to `fs.createWriteStream` and to `fs.createWriteStream` + fsync (the plain writer made
 * durable, a fair comparison for writers that wait for the disk), and the page cache the file
 * leaves behind (cachestat).
 *
 * The runs are interleaved (run 1 of every case, then run 2, …, in a rotating order) after one
 * unmeasured warm-up round, so that drift on a shared machine hits every case alike.
 *
 * Run: `npm run build && node dist/bench/fs.bench.js [--json] [--size-mib 1024] [--runs 7]`
 * Files go to os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { capabilities, createNoCacheWriteStream, residency } from '../src/index.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '7' },
  },
});
const MiB = 1 << 20;
const sizeMiB = Number(values['size-mib']);
const runs = Number(values.runs);
const chunk = Buffer.alloc(MiB, 0x5a);
const chunks = Array.from({ length: sizeMiB }, () => chunk);

async function* source(): AsyncGenerator<Buffer> {
  for (let i = 0; i < sizeMiB; i++) yield chunk;
}

type Case = { name: string; run: (path: string) => Promise<void> };
const cases: Case[] = [
  { name: 'fs.createWriteStream', run: (p) => pipeline(source, createWriteStream(p)) },
  {
    name: 'fs.createWriteStream + fsync',
    run: (p) => pipeline(source, createWriteStream(p, { flush: true })),
  },
  { name: 'fs.promises.writeFile', run: (p) => writeFile(p, chunks) },
  {
    name: "slabio no-cache 'dontcache'",
    run: (p) => pipeline(source, createNoCacheWriteStream(p, { strategy: 'dontcache' })),
  },
  {
    name: "slabio no-cache 'windowed'",
    run: (p) => pipeline(source, createNoCacheWriteStream(p, { strategy: 'windowed' })),
  },
];

const dir = await mkdtemp(join(tmpdir(), 'slabio-bench-'));
try {
  const caps = await capabilities(dir);
  const active = cases.filter((c) => !c.name.includes('dontcache') || caps.dontcache.available);
  const rates = new Map<string, number[]>(active.map((c) => [c.name, []]));
  const cacheLeft = new Map<string, number>(active.map((c) => [c.name, 0]));
  const p = join(dir, 'out.bin');
  for (let round = -1; round < runs; round++) {
    // Rotate the order each round so no case always runs right after the same neighbour.
    const shift = ((round % active.length) + active.length) % active.length;
    const order = [...active.slice(shift), ...active.slice(0, shift)];
    for (const c of order) {
      const t0 = process.hrtime.bigint();
      await c.run(p);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (round >= 0) {
        rates.get(c.name)?.push(sizeMiB / s);
        const left = (await residency(p)).cachedBytes;
        cacheLeft.set(c.name, Math.max(cacheLeft.get(c.name) ?? 0, left));
      }
      // Unlinking drops the plain writers' dirty pages, so the next run starts from the same state.
      await unlink(p);
    }
  }
  const rows = active.map((c) => {
    const r = rates.get(c.name) ?? [];
    return {
      name: c.name,
      mibPerS: median(r),
      min: Math.min(...r),
      max: Math.max(...r),
      vsPlain: 0,
      vsDurable: 0,
      cacheLeftMiB: (cacheLeft.get(c.name) ?? 0) / MiB,
    };
  });
  const plain = rows[0]?.mibPerS ?? 1;
  const durable = rows[1]?.mibPerS ?? 1;
  for (const r of rows) {
    r.vsPlain = r.mibPerS / plain;
    r.vsDurable = r.mibPerS / durable;
  }
  const env = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    filesystem: caps.filesystem.type,
    sizeMiB,
    runs,
    date: new Date().toISOString().slice(0, 10),
  };
  if (values.json) {
    console.log(JSON.stringify({ env, rows }, null, 2));
  } else {
    console.log(
      `Writing ${sizeMiB} MiB in 1 MiB chunks to ${env.filesystem}, median of ${runs} interleaved runs, Node ${env.node}, ${env.cpu}`,
    );
    console.log(
      '| writer | MiB/s (median) | min–max | vs createWriteStream | vs createWriteStream + fsync | page cache left (MiB) |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.mibPerS.toFixed(0)} | ${r.min.toFixed(0)}–${r.max.toFixed(0)} | ${r.vsPlain.toFixed(2)}× | ${r.vsDurable.toFixed(2)}× | ${r.cacheLeftMiB.toFixed(1)} |`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
