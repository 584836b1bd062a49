/**
 * Decompression: slabio's `gunzip` into a pooled lease vs what users do today — `zlib.gunzipSync`,
 * `util.promisify(zlib.gunzip)` and `pipeline(createGunzip())` + `Buffer.concat` — on 4 MiB of
 * JSON-like text; a 1 GiB gzip bomb against a 64 MiB limit (`gunzip` vs `gunzipSync` with
 * `maxOutputLength`); and `extractZip` vs yauzl piped into `fs.createWriteStream` for an archive of
 * 200 incompressible 256 KiB "images".
 *
 * Every variant runs in its own child process (so peak RSS is its own) and reports ops/s (or
 * time), GC count and pause (PerformanceObserver 'gc'), peak RSS and `arrayBuffers`, and for
 * extraction the page cache the written files still hold.
 *
 * Run: `npm run bench -- decompress` (add `--json` for machine output, `--quick` for a short run).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Bench } from 'tinybench';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { BufferPool, gunzip, residency } from '../src/index.js';
import { extractZip } from '../src/integrations/zip/index.js';
import {
  columnTable,
  environment,
  gcColumns,
  measure,
  median,
  mib,
  runChild,
  table,
  wantsJson,
} from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const quick = process.argv.includes('--quick');
const TEXT_BYTES = 4 * MiB;
const IMAGES = quick ? 50 : 200;
const IMAGE_BYTES = 256 * KiB;

interface Row {
  part: 'gunzip' | 'bomb' | 'extract';
  variant: string;
  opsPerSec: number;
  ms: number;
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
  cachedBytes: number;
  outcome: string;
}

function textPayload(n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  let x = 17;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const s = `{"id":${x % 100000},"name":"user${x % 7919}","score":${(x >>> 8) % 1000}},`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join('').slice(0, n));
}

// ---- child: one variant ---------------------------------------------------------------------

const gunzipAsync = promisify(zlib.gunzip);

async function gunzipChild(variant: string, file: string): Promise<Row> {
  const gz = await (await import('node:fs/promises')).readFile(file);
  const pool = new BufferPool({ idleTrimMs: 0 });
  const variants: Record<string, () => Promise<number>> = {
    'slabio gunzip': async () => {
      const lease = await gunzip(gz, { pool });
      const n = lease.buffer.length;
      lease.release();
      return n;
    },
    'zlib.gunzipSync': async () => zlib.gunzipSync(gz).length,
    'promisify(zlib.gunzip)': async () => (await gunzipAsync(gz)).length,
    'pipeline + Buffer.concat': async () => {
      const chunks: Buffer[] = [];
      await pipeline(
        Readable.from([gz]),
        zlib.createGunzip(),
        new Writable({
          write(chunk: Buffer, _e, cb) {
            chunks.push(chunk);
            cb();
          },
        }),
      );
      return Buffer.concat(chunks).length;
    },
  };
  const run = variants[variant] as () => Promise<number>;
  await run();
  const bench = new Bench({ time: quick ? 500 : 2000, warmupIterations: 3 });
  const m = await measure(async (memory) => {
    bench.add(variant, async () => {
      await run();
      memory.sample();
    });
    await bench.run();
  });
  const task = bench.tasks[0];
  const hz = task?.result && 'throughput' in task.result ? task.result.throughput.mean : 0;
  return {
    part: 'gunzip',
    variant,
    opsPerSec: hz,
    ms: 1000 / hz,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    peakRss: m.peakRss,
    peakArrayBuffers: m.peakArrayBuffers,
    cachedBytes: 0,
    outcome: 'ok',
  };
}

async function bombChild(variant: string, file: string): Promise<Row> {
  const bomb = await (await import('node:fs/promises')).readFile(file);
  // No sample after the call: a failed gunzipSync's output chunks are garbage by then.
  const m = await measure(
    async () => {
      try {
        if (variant === 'slabio gunzip') {
          (
            await gunzip(bomb, { maxOutputBytes: 64 * MiB, maxRatio: Number.POSITIVE_INFINITY })
          ).release();
        } else {
          zlib.gunzipSync(bomb, { maxOutputLength: 64 * MiB });
        }
        return 'accepted';
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
    },
    { sampleAtEnd: false },
  );
  const ms = m.seconds * 1000;
  return {
    part: 'bomb',
    variant,
    opsPerSec: 1000 / ms,
    ms,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    // The true peak: a sampler cannot run during gunzipSync's synchronous loop.
    peakRss: process.resourceUsage().maxRSS * 1024,
    peakArrayBuffers: m.peakArrayBuffers,
    cachedBytes: 0,
    outcome: m.value,
  };
}

async function yauzlExtract(zipPath: string, dest: string): Promise<void> {
  const zipfile = await yauzl.openPromise(zipPath, { lazyEntries: true });
  for await (const entry of zipfile.eachEntry()) {
    const target = path.join(dest, entry.fileName);
    if (entry.fileName.endsWith('/')) continue;
    await mkdir(path.dirname(target), { recursive: true });
    await pipeline(await zipfile.openReadStreamPromise(entry), createWriteStream(target));
  }
}

async function cachedUnder(dir: string): Promise<number> {
  let cached = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile())
      cached += (await residency(path.join(e.parentPath ?? e.path, e.name))).cachedBytes;
  }
  return cached;
}

async function extractChild(variant: string, zipPath: string, dest: string): Promise<Row> {
  const m = await measure(async () => {
    if (variant === 'slabio extractZip') await extractZip(zipPath, dest);
    else await yauzlExtract(zipPath, dest);
  });
  const ms = m.seconds * 1000;
  const cachedBytes = await cachedUnder(dest);
  await rm(dest, { recursive: true, force: true });
  return {
    part: 'extract',
    variant,
    opsPerSec: 1000 / ms,
    ms,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    peakRss: m.peakRss,
    peakArrayBuffers: m.peakArrayBuffers,
    cachedBytes,
    outcome: 'ok',
  };
}

// ---- parent ---------------------------------------------------------------------------------

async function makeZip(file: string): Promise<void> {
  const zip = new yazl.ZipFile();
  let x = 3;
  for (let i = 0; i < IMAGES; i++) {
    const data = Buffer.allocUnsafe(IMAGE_BYTES);
    for (let j = 0; j < data.length; j += 4) {
      x = (x * 1103515245 + 12345) >>> 0;
      data.writeUInt32LE(x, j);
    }
    zip.addBuffer(data, `photos/${String(i).padStart(4, '0')}.jpg`);
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

async function makeBomb(file: string): Promise<void> {
  const gz = zlib.createGzip({ level: 9, strategy: zlib.constants.Z_RLE });
  const zero = Buffer.alloc(MiB);
  async function* zeros(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 1024; i++) yield zero;
  }
  await pipeline(Readable.from(zeros()), gz, createWriteStream(file));
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slabio-bench-decompress-'));
  const rows: Row[] = [];
  try {
    const textFile = path.join(dir, 'text.gz');
    await writeFile(textFile, zlib.gzipSync(textPayload(TEXT_BYTES)));
    const bombFile = path.join(dir, 'bomb.gz');
    await makeBomb(bombFile);
    // Extraction writes to a disk-backed directory: in a memory-backed /tmp there is no cache to drop.
    const zipDir = await mkdtemp(path.join(process.cwd(), '.bench-zip-'));
    try {
      const zipPath = path.join(zipDir, 'photos.zip');
      await makeZip(zipPath);
      for (const v of [
        'slabio gunzip',
        'zlib.gunzipSync',
        'promisify(zlib.gunzip)',
        'pipeline + Buffer.concat',
      ]) {
        rows.push(await runChild<Row>(self, ['--child', 'gunzip', v, textFile]));
      }
      for (const v of ['slabio gunzip', 'zlib.gunzipSync + maxOutputLength']) {
        rows.push(await runChild<Row>(self, ['--child', 'bomb', v, bombFile]));
      }
      const rounds = quick ? 1 : 3;
      for (let r = 0; r < rounds; r++) {
        for (const v of ['slabio extractZip', 'yauzl + createWriteStream']) {
          const dest = path.join(zipDir, `out-${r}-${v.split(' ')[0]}`);
          rows.push(await runChild<Row>(self, ['--child', 'extract', v, zipPath, dest]));
        }
      }
    } finally {
      await rm(zipDir, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  report(rows);
}

function report(rows: Row[]): void {
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), rows }, null, 2));
    return;
  }
  console.log(environment());
  const g = rows.filter((r) => r.part === 'gunzip');
  const base = g.find((r) => r.variant === 'zlib.gunzipSync')?.opsPerSec ?? 1;
  console.log(
    `\ngunzip of ${mib(TEXT_BYTES)} MiB JSON-like text (ratio ~4:1), one child per variant:\n`,
  );
  console.log(
    columnTable(g, [
      { header: 'variant', cell: (r) => r.variant },
      { header: 'ops/s', cell: (r) => r.opsPerSec.toFixed(1) },
      { header: 'vs gunzipSync', cell: (r) => `${(r.opsPerSec / base).toFixed(2)}×` },
      ...gcColumns(),
      { header: 'peak RSS MiB', cell: (r) => mib(r.peakRss) },
      { header: 'peak arrayBuffers MiB', cell: (r) => mib(r.peakArrayBuffers) },
    ]),
  );
  console.log('\n1 GiB of zeros gzipped (~1 MiB) against a 64 MiB output limit:\n');
  console.log(
    table(
      ['variant', 'outcome', 'ms', 'peak RSS MiB (maxRSS)', 'peak arrayBuffers MiB (sampled)'],
      rows
        .filter((r) => r.part === 'bomb')
        .map((r) => [
          r.variant,
          r.outcome,
          r.ms.toFixed(0),
          mib(r.peakRss),
          mib(r.peakArrayBuffers),
        ]),
    ),
  );
  const e = rows.filter((r) => r.part === 'extract');
  console.log(
    `\nextract ${IMAGES} × ${IMAGE_BYTES / KiB} KiB incompressible files (${mib(IMAGES * IMAGE_BYTES)} MiB), median of ${e.length / 2} alternating runs:\n`,
  );
  const variants = [...new Set(e.map((r) => r.variant))];
  console.log(
    table(
      ['variant', 'ms', 'GCs', 'peak RSS MiB', 'page cache left MiB'],
      variants.map((v) => {
        const rs = e.filter((r) => r.variant === v);
        return [
          v,
          median(rs.map((r) => r.ms)).toFixed(0),
          String(median(rs.map((r) => r.gcCount))),
          mib(median(rs.map((r) => r.peakRss))),
          mib(median(rs.map((r) => r.cachedBytes))),
        ];
      }),
    ),
  );
}

const argv = process.argv;
const childAt = argv.indexOf('--child');
if (childAt !== -1) {
  const [part, variant, a, b] = argv.slice(childAt + 1) as [string, string, string, string];
  const row =
    part === 'gunzip'
      ? await gunzipChild(variant, a)
      : part === 'bomb'
        ? await bombChild(variant, a)
        : await extractChild(variant, a, b);
  console.log(JSON.stringify(row));
} else {
  await main();
}
