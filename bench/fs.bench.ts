/**
 * Writing a large file in 1 MiB chunks: slabio's no-cache writer (each strategy) vs
 * `fs.createWriteStream` vs `fs.promises.writeFile`. Reports throughput, the ratio to
 * `fs.createWriteStream` and the page cache the file leaves behind (cachestat).
 *
 * Run: `npm run build && node dist/bench/fs.bench.js [--json] [--size-mib 1024] [--runs 3]`
 * Files go to os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { capabilities, createNoCacheWriteStream, residency } from '../src/index.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
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
  const rows: {
    name: string;
    mibPerS: number;
    rme: number;
    vsPlain: number;
    cacheLeftMiB: number;
  }[] = [];
  for (const c of cases) {
    if (c.name.includes('dontcache') && !caps.dontcache.available) continue;
    const rates: number[] = [];
    let cacheLeft = 0;
    for (let i = 0; i < runs; i++) {
      const p = join(dir, 'out.bin');
      const t0 = process.hrtime.bigint();
      await c.run(p);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      rates.push(sizeMiB / s);
      cacheLeft = Math.max(cacheLeft, (await residency(p)).cachedBytes);
      // Unlinking drops the plain writers' dirty pages, so the next run starts from the same state.
      await unlink(p);
    }
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const sd = Math.sqrt(
      rates.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rates.length - 1),
    );
    rows.push({
      name: c.name,
      mibPerS: mean,
      rme: (100 * sd) / mean,
      vsPlain: 0,
      cacheLeftMiB: cacheLeft / MiB,
    });
  }
  const plain = rows[0]?.mibPerS ?? 1;
  for (const r of rows) r.vsPlain = r.mibPerS / plain;
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
      `Writing ${sizeMiB} MiB in 1 MiB chunks to ${env.filesystem}, ${runs} runs, Node ${env.node}, ${env.cpu}`,
    );
    console.log('| writer | MiB/s | ± | vs createWriteStream | page cache left (MiB) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.mibPerS.toFixed(0)} | ${r.rme.toFixed(1)}% | ${r.vsPlain.toFixed(2)}× | ${r.cacheLeftMiB.toFixed(1)} |`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
