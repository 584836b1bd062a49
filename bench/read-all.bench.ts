/**
 * readAll vs what users do today to read a whole body: `Buffer.concat` of collected chunks, the
 * real `get-stream` (9, `getStreamAsBuffer`) and `raw-body` (3, `getRawBody` with `length` and
 * `limit`, as body-parser calls it) packages, `node:stream/consumers` `buffer()`, a doubling Buffer
 * (what Go's bytes.Buffer does) and, for files, `fs.readFile`.
 * Bodies of 64 KiB, 1 MiB and 16 MiB in 64 KiB chunks, from an in-memory stream and from a file;
 * readAll with and without a known length. Then `pump` vs `stream.pipeline` for a file copy.
 *
 * Every variant runs in its own child process (so peak RSS is its own) and reports ops/s, GC count
 * and pause (PerformanceObserver 'gc'), peak RSS and `arrayBuffers`, new ArrayBuffer bytes per
 * read (one read after a full GC, GC-free) and peak memory held per read (new ArrayBuffer bytes
 * plus pool blocks in use, sampled at every chunk) as a multiple of the body.
 *
 * Run: `npm run bench -- read-all` (add `--json` for machine output, `--quick` for a short run,
 * `--pump-mib=N` for the copy size, default 256).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer as consumeBuffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { getStreamAsBuffer } from 'get-stream';
import getRawBody from 'raw-body';
import { Bench } from 'tinybench';
import { BufferPool, pump, readAll } from '../src/index.js';
import { environment, mib, runChild, sampleMemory, table, trackGc, wantsJson } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * KiB;
const SIZES = [64 * KiB, 1 * MiB, 16 * MiB];
const quick = process.argv.includes('--quick');
const PUMP_ROUNDS = quick ? 2 : 4;
const pumpMiB = Number(process.argv.find((a) => a.startsWith('--pump-mib='))?.split('=')[1] ?? 256);

type Source = 'memory' | 'file';
const VARIANTS: Record<Source, string[]> = {
  memory: [
    'readAll',
    'readAll+length',
    'Buffer.concat',
    'consumers.buffer',
    'get-stream',
    'raw-body',
    'doubling',
  ],
  file: [
    'readAll(path)',
    'readAll(stream)',
    'fs.readFile',
    'Buffer.concat',
    'consumers.buffer',
    'get-stream',
    'raw-body',
  ],
};

interface Row {
  source: Source;
  size: number;
  variant: string;
  opsPerSec: number;
  rmePercent: number;
  newBytesPerOp: number;
  peakHeldPerOp: number;
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
}

// ---- the variants -------------------------------------------------------------------------------

const pool = new BufferPool({ maxBytes: 256 * MiB, idleTrimMs: 0 });
/** Called at every chunk by the sources: lets one measured read record its peak. */
let onChunk: () => void = () => {};

/** An in-memory stream of `chunks`, the same cheap Readable for every variant. */
function memoryStream(chunks: readonly Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      onChunk();
      this.push(chunks[i++] ?? null);
    },
  });
}

async function concatAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    onChunk();
  }
  return Buffer.concat(chunks, length);
}

/** Go's bytes.Buffer: double the capacity and copy when full; the result is a view. */
async function doubling(stream: Readable): Promise<Buffer> {
  let buf = Buffer.allocUnsafe(512);
  let length = 0;
  for await (const chunk of stream) {
    const c = chunk as Buffer;
    if (length + c.length > buf.length) {
      let cap = buf.length * 2;
      while (cap < length + c.length) cap *= 2;
      const grown = Buffer.allocUnsafe(cap);
      buf.copy(grown, 0, 0, length);
      buf = grown;
    }
    c.copy(buf, length);
    length += c.length;
    onChunk();
  }
  return buf.subarray(0, length);
}

/** A finished read: its length, and how to let go of the result (release a lease, drop a Buffer). */
interface Held {
  length: number;
  done(): void;
}

/** A plain Buffer result: the closure keeps it reachable until the measurement is done with it. */
function dropped(b: Buffer): Held {
  return { length: b.length, done: () => b.length };
}

function variantFn(
  source: Source,
  variant: string,
  size: number,
  file: string,
): () => Promise<Held> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < size; at += CHUNK)
    chunks.push(Buffer.alloc(Math.min(CHUNK, size - at), at & 0xff));
  const open = (): Readable =>
    source === 'memory' ? memoryStream(chunks) : createReadStream(file).on('data', () => onChunk());
  const leased = async (read: Promise<{ buffer: Buffer; release(): void }>): Promise<Held> => {
    const lease = await read;
    return { length: lease.buffer.length, done: () => lease.release() };
  };
  switch (variant) {
    case 'readAll':
    case 'readAll(stream)':
      return () => leased(readAll(open(), { pool }));
    case 'readAll+length':
      return () => leased(readAll(open(), { pool, lengthHint: size }));
    case 'readAll(path)':
      return () => leased(readAll(file, { pool }));
    case 'fs.readFile':
      return async () => dropped(await readFile(file));
    case 'Buffer.concat':
      return async () => dropped(await concatAll(open()));
    case 'consumers.buffer':
      return async () => dropped(await consumeBuffer(open()));
    case 'get-stream':
      return async () => dropped(await getStreamAsBuffer(open()));
    case 'raw-body':
      // As body-parser calls it with a content-length: the length is checked, not used to allocate.
      return async () => dropped(await getRawBody(open(), { length: size, limit: size }));
    case 'doubling':
      return async () => dropped(await doubling(open()));
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

// ---- child: one variant -------------------------------------------------------------------------

async function child(source: Source, size: number, variant: string, file: string): Promise<Row> {
  const run = variantFn(source, variant, size, file);
  for (let i = 0; i < 5; i++) (await run()).done(); // warm the pool and the JIT
  // Single reads after a full GC, with the sources reporting in: new bytes and peak held per read.
  // A GC inside the read (allocation-driven) frees some of what it allocated and hides it, so the
  // largest of a few tries is kept; it is still a lower bound for the baselines.
  let newBytes = 0;
  let peak = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    globalThis.gc?.();
    const base = process.memoryUsage().arrayBuffers;
    onChunk = () => {
      const held = process.memoryUsage().arrayBuffers - base + pool.stats().inUseBytes;
      if (held > peak) peak = held;
    };
    const result = await run();
    onChunk(); // with the result still held
    newBytes = Math.max(newBytes, process.memoryUsage().arrayBuffers - base);
    result.done();
    onChunk = () => {};
  }

  const memory = sampleMemory(5);
  const gc = trackGc();
  const bench = new Bench({
    time: quick ? 200 : size >= 16 * MiB ? 2000 : 700,
    warmupTime: quick ? 50 : 200,
  });
  let sink = 0;
  bench.add(variant, async () => {
    const result = await run();
    sink ^= result.length;
    result.done();
  });
  await bench.run();
  memory.sample();
  await gc.stop();
  memory.stop();
  const r = bench.tasks[0]?.result;
  if (r === undefined || !('throughput' in r)) throw new Error(`${variant} did not complete`);
  if (sink === -1) console.error(sink);
  return {
    source,
    size,
    variant,
    opsPerSec: r.throughput.mean,
    rmePercent: r.throughput.rme,
    newBytesPerOp: newBytes,
    peakHeldPerOp: peak,
    gcCount: gc.count,
    gcPauseMs: gc.pauseMs,
    peakRss: memory.peakRss,
    peakArrayBuffers: memory.peakArrayBuffers,
  };
}

// ---- child: pump vs pipeline --------------------------------------------------------------------

interface PumpRow {
  variant: string;
  seconds: number;
  gcCount: number;
  peakRss: number;
  /** Largest growth of `arrayBuffers` during the copy (chunk garbage waiting for a GC). */
  peakArrayBufferGrowth: number;
}

async function pumpChild(variant: string, from: string, to: string): Promise<PumpRow> {
  const copy = (): Promise<unknown> =>
    variant === 'pump'
      ? pump(from, createWriteStream(to), { pool })
      : pipeline(createReadStream(from), createWriteStream(to));
  globalThis.gc?.();
  const gc = trackGc();
  const memory = sampleMemory(5);
  const before = process.memoryUsage().arrayBuffers;
  let growth = 0;
  const timer = setInterval(() => {
    growth = Math.max(growth, process.memoryUsage().arrayBuffers - before);
  }, 2);
  const start = process.hrtime.bigint();
  await copy();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(timer);
  await gc.stop();
  memory.stop();
  return {
    variant,
    seconds,
    gcCount: gc.count,
    peakRss: memory.peakRss,
    peakArrayBufferGrowth: growth,
  };
}

// ---- parent -------------------------------------------------------------------------------------

const label = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slabio-bench-read-all-'));
  try {
    const rows: Row[] = [];
    for (const size of SIZES) {
      const file = path.join(dir, `body-${size}.bin`);
      await writeFile(file, Buffer.alloc(size, 7));
      for (const source of ['memory', 'file'] as const) {
        for (const variant of VARIANTS[source]) {
          rows.push(
            await runChild<Row>(
              self,
              ['--child', source, String(size), variant, file],
              ['--expose-gc'],
            ),
          );
        }
      }
    }
    const big = path.join(dir, 'pump-src.bin');
    const chunk = Buffer.alloc(MiB, 3);
    await writeFile(big, '');
    const { appendFile } = await import('node:fs/promises');
    for (let i = 0; i < pumpMiB; i++) await appendFile(big, chunk);
    // Alternate the variants, one copy per child: writeback of one copy's dirty pages slows the
    // next copy down, and alternating spreads that over both sides.
    await runChild(
      self,
      ['--pump-child', 'pump', big, path.join(dir, 'warm.bin')],
      ['--expose-gc'],
    );
    const pumpRows: PumpRow[] = [];
    for (let round = 0; round < PUMP_ROUNDS; round++) {
      for (const variant of round % 2 === 0
        ? ['stream.pipeline', 'pump']
        : ['pump', 'stream.pipeline']) {
        const to = path.join(dir, `pump-dst-${round}.bin`);
        pumpRows.push(
          await runChild<PumpRow>(self, ['--pump-child', variant, big, to], ['--expose-gc']),
        );
        await rm(to);
      }
    }
    report(rows, pumpRows);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(rows: Row[], pumpRows: PumpRow[]): void {
  if (wantsJson()) {
    console.log(
      JSON.stringify({
        environment: environment(),
        chunk: CHUNK,
        rows,
        pump: { mib: pumpMiB, rounds: PUMP_ROUNDS, rows: pumpRows },
      }),
    );
    return;
  }
  console.log(`readAll benchmark: ${environment()}; bodies in ${CHUNK / KiB} KiB chunks\n`);
  const cells: string[][] = [];
  for (const r of rows) {
    const group = rows.filter((o) => o.source === r.source && o.size === r.size);
    const concat = group.find((o) => o.variant === 'Buffer.concat')?.opsPerSec ?? Number.NaN;
    const fastestBaseline = Math.max(
      ...group.filter((o) => !o.variant.startsWith('readAll')).map((o) => o.opsPerSec),
    );
    cells.push([
      `${r.source} ${label(r.size)}`,
      r.variant,
      r.opsPerSec.toFixed(0),
      `±${r.rmePercent.toFixed(1)}%`,
      `${(r.opsPerSec / concat).toFixed(2)}×`,
      `${(r.opsPerSec / fastestBaseline).toFixed(2)}×`,
      (r.newBytesPerOp / r.size).toFixed(2),
      (r.peakHeldPerOp / r.size).toFixed(2),
      String(r.gcCount),
      r.gcPauseMs.toFixed(1),
      mib(r.peakRss),
      mib(r.peakArrayBuffers),
    ]);
  }
  console.log(
    table(
      [
        'body',
        'variant',
        'ops/s',
        '±',
        'vs concat',
        'vs best baseline',
        'new B/body',
        'peak held/body',
        'GCs',
        'GC ms',
        'peak RSS MiB',
        'peak AB MiB',
      ],
      cells,
    ),
  );
  console.log(
    '\nnew B/body: ArrayBuffer bytes allocated by one read (after a full GC), per body byte; peak held/body: those plus pool blocks in use, sampled at every chunk and with the result held. get-stream grows one resizable ArrayBuffer (capacity doubled, contents copied on growth); `arrayBuffers` may not see its reserved capacity, so compare its peak RSS too.',
  );
  console.log(
    `\nfile copy of ${pumpMiB} MiB (page cache warm), ${PUMP_ROUNDS} rounds alternating, one copy per child process:\n`,
  );
  const summary = ['stream.pipeline', 'pump'].map((variant) => {
    const mine = pumpRows.filter((r) => r.variant === variant);
    const seconds = mine.reduce((sum, r) => sum + r.seconds, 0);
    return {
      variant,
      mibPerSec: (mine.length * pumpMiB) / seconds,
      gcCount: mine.reduce((sum, r) => sum + r.gcCount, 0) / mine.length,
      peakRss: Math.max(...mine.map((r) => r.peakRss)),
      peakGrowth: Math.max(...mine.map((r) => r.peakArrayBufferGrowth)),
    };
  });
  const base = summary[0]?.mibPerSec ?? Number.NaN;
  console.log(
    table(
      ['variant', 'MiB/s', 'vs pipeline', 'GCs/copy', 'peak AB growth MiB', 'peak RSS MiB'],
      summary.map((r) => [
        r.variant,
        r.mibPerSec.toFixed(0),
        `${(r.mibPerSec / base).toFixed(2)}×`,
        r.gcCount.toFixed(1),
        mib(r.peakGrowth),
        mib(r.peakRss),
      ]),
    ),
  );
}

const argv = process.argv;
const childAt = argv.indexOf('--child');
const pumpAt = argv.indexOf('--pump-child');
if (childAt !== -1) {
  const [source, size, variant, file] = argv.slice(childAt + 1);
  const row = await child(source as Source, Number(size), variant as string, file as string);
  console.log(JSON.stringify(row));
  process.exit(0);
} else if (pumpAt !== -1) {
  const [variant, from, to] = argv.slice(pumpAt + 1);
  console.log(JSON.stringify(await pumpChild(variant as string, from as string, to as string)));
  process.exit(0);
} else {
  await main();
}
