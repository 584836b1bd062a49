/**
 * N JPEG photos (1.5 MP each, generated at start) resized to 320 px JPEG thumbnails: slabio's
 * `transformImage` into pooled leases vs sharp's `toBuffer()`, from memory and from files; and the
 * same photos decoded to raw pixels: `decodeRaw` vs `raw().toBuffer()`. Every output is held for
 * `--hold-ms` (as if being uploaded) before it is dropped or released. Each variant runs in its own child process (so one cannot inflate another's RSS), runs
 * are interleaved, and every row reports images/s (median, min–max), the ratio to its baseline,
 * GC count and pause, peak RSS (and its rise over the RSS before the loop, inputs included),
 * peak `arrayBuffers` and `external` (sharp's output buffers are external memory), and for file inputs the page cache the inputs still occupy afterwards.
 *
 * All variants process `--concurrency` images at once (libuv runs 4 by default) and, except the
 * one labelled "sharp defaults", run with `configureSharp()` (operation cache off, one libvips
 * thread per image), so the comparison is about where the bytes go, not sharp's settings.
 *
 * Run: `npm run build && node dist/bench/sharp.bench.js [--count 200] [--runs 3] [--concurrency 4] [--hold-ms 10] [--json]`
 * Inputs go to a temporary directory under os.tmpdir() (set TMPDIR to bench another filesystem).
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { dropCache, readAll, residency } from '../src/index.js';
import { configureSharp, decodeRaw, transformImage } from '../src/integrations/sharp/index.js';
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
    count: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    'hold-ms': { type: 'string', default: '10' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});
const count = positiveInteger('count', values.count);
const runs = positiveInteger('runs', values.runs);
const concurrency = positiveInteger('concurrency', values.concurrency);
const holdMs = Number(values['hold-ms']);
if (!Number.isInteger(holdMs) || holdMs < 0) {
  throw new RangeError(`--hold-ms must be ≥ 0, got ${values['hold-ms']}`);
}

const WIDTH = 1500;
const HEIGHT = 1000;
// Distinct photos; the files are copies under `count` names, so each file is read once.
const DISTINCT = 20;
const thumb = (img: Sharp): Sharp => img.resize(320).jpeg({ quality: 80 });
const inputPath = (dir: string, i: number): string => join(dir, `photo-${i}.jpg`);
/** Keep an output alive for a while, as an upload would. */
const hold = (): Promise<void> =>
  holdMs === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, holdMs));

interface Variant {
  name: string;
  baseline: string;
  files: boolean;
  /** sharp settings as shipped instead of `configureSharp()`. */
  sharpDefaults?: boolean;
  /** Make one thumbnail; returns its byte length. The output is dropped or released at once. */
  one(input: Buffer | string): Promise<number>;
}

// The same code on memory and on file inputs, and with sharp's settings as shipped.
async function viaToBuffer(input: Buffer | string): Promise<number> {
  const out = await thumb(sharp(input)).toBuffer();
  await hold();
  return out.length;
}

async function viaTransformImage(input: Buffer | string): Promise<number> {
  using lease = await transformImage(input, thumb);
  await hold();
  return lease.buffer.length;
}

const variants: Variant[] = [
  {
    name: 'sharp toBuffer (memory)',
    baseline: 'sharp toBuffer (memory)',
    files: false,
    one: viaToBuffer,
  },
  {
    name: 'sharp toBuffer, sharp defaults',
    baseline: 'sharp toBuffer (memory)',
    files: false,
    sharpDefaults: true,
    one: viaToBuffer,
  },
  {
    name: 'slabio transformImage (memory)',
    baseline: 'sharp toBuffer (memory)',
    files: false,
    one: viaTransformImage,
  },
  {
    name: 'sharp stream → readAll (memory)',
    baseline: 'sharp toBuffer (memory)',
    files: false,
    async one(input) {
      using lease = await readAll(thumb(sharp(input)));
      await hold();
      return lease.buffer.length;
    },
  },
  {
    name: 'sharp(path).toBuffer',
    baseline: 'sharp(path).toBuffer',
    files: true,
    one: viaToBuffer,
  },
  {
    name: 'slabio transformImage(path)',
    baseline: 'sharp(path).toBuffer',
    files: true,
    one: viaTransformImage,
  },
  {
    name: 'sharp raw().toBuffer (memory)',
    baseline: 'sharp raw().toBuffer (memory)',
    files: false,
    async one(input) {
      const out = await sharp(input).raw().toBuffer();
      await hold();
      return out.length;
    },
  },
  {
    name: 'slabio decodeRaw (memory)',
    baseline: 'sharp raw().toBuffer (memory)',
    files: false,
    async one(input) {
      using image = await decodeRaw(input);
      await hold();
      return image.lease.buffer.length;
    },
  },
];

interface ChildResult extends RunStats {
  imagesPerS: number;
  rssBefore: number;
  peakExternal: number;
  meanOutputBytes: number;
  cacheBytes: number;
}

/** Run `one` over `inputs` with `concurrency` in flight; returns the bytes produced. */
async function runAll(v: Variant, inputs: (Buffer | string)[]): Promise<number> {
  let next = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const produced = await v.one(inputs[next++] as Buffer | string);
      bytes += produced;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return bytes;
}

async function child(name: string, dir: string): Promise<ChildResult> {
  const v = variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`unknown variant ${name}`);
  if (!v.sharpDefaults) configureSharp({ warnMallocArena: false });
  const paths = Array.from({ length: count }, (_, i) => inputPath(dir, i));
  const inputs: (Buffer | string)[] = v.files
    ? paths
    : await Promise.all(paths.map((p) => readFile(p)));
  await runAll(v, inputs.slice(0, Math.min(20, count))); // warm-up: JIT, libvips, pool slabs
  if (v.files) for (const p of paths) await dropCache(p);
  const m = await measure(() => runAll(v, inputs));
  let cacheBytes = 0;
  if (v.files) {
    for (const p of paths) cacheBytes += (await residency(p)).cachedBytes;
  }
  return {
    imagesPerS: count / m.seconds,
    gcCount: m.gcCount,
    gcPauseMs: m.gcPauseMs,
    rssBefore: m.rssBefore,
    peakRss: m.peakRss,
    peakArrayBuffers: m.peakArrayBuffers,
    // sharp's output Buffers wrap libvips memory: Node counts them in `external`.
    peakExternal: m.peakExternal,
    meanOutputBytes: m.value / count,
    cacheBytes,
  };
}

/** An SVG scene: overlapping shapes of every size, so the photo has edges at every scale. */
function scene(seed: number): Buffer {
  let x = seed * 2654435761;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x % n;
  };
  const shapes: string[] = [];
  for (let k = 0; k < 300; k++) {
    const fill = `rgb(${rnd(256)},${rnd(256)},${rnd(256)})`;
    shapes.push(
      k % 2 === 0
        ? `<circle cx="${rnd(WIDTH)}" cy="${rnd(HEIGHT)}" r="${5 + rnd(200)}" fill="${fill}" fill-opacity="0.7"/>`
        : `<rect x="${rnd(WIDTH)}" y="${rnd(HEIGHT)}" width="${5 + rnd(300)}" height="${5 + rnd(300)}" fill="${fill}"/>`,
    );
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${shapes.join('')}</svg>`,
  );
}

/** Photo-like JPEGs (shapes under sensor-like noise), copied to `count` files. */
async function makeInputs(dir: string): Promise<number> {
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (i >= DISTINCT) {
      await copyFile(inputPath(dir, i % DISTINCT), inputPath(dir, i));
      continue;
    }
    const noise = await sharp({
      create: {
        width: WIDTH,
        height: HEIGHT,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 12 },
      },
    })
      .png()
      .toBuffer();
    const jpeg = await sharp(scene(i))
      .flatten({ background: '#888' })
      .composite([{ input: noise, blend: 'overlay' }])
      .jpeg({ quality: 85 })
      .toBuffer();
    await writeFile(inputPath(dir, i), jpeg);
    total += jpeg.length;
  }
  return total / Math.min(count, DISTINCT);
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const { meanInputBytes, results } = await withTempDir('slabio-bench-sharp-', async (dir) => ({
    meanInputBytes: await makeInputs(dir),
    results: await interleave(variants, runs, (v) =>
      runChild<ChildResult>(script, [
        '--child',
        v.name,
        '--dir',
        dir,
        '--count',
        String(count),
        '--concurrency',
        String(concurrency),
        '--hold-ms',
        String(holdMs),
      ]),
    ),
  }));
  const rows = summarize(variants, results, 'imagesPerS', (v, rs, pick) => ({
    rssRiseMiB: Number(mib(pick((x) => x.peakRss - x.rssBefore))),
    peakExternalMiB: Number(mib(pick((x) => x.peakExternal))),
    meanOutputBytes: Math.round(pick((x) => x.meanOutputBytes)),
    cacheMiB: v.files ? Number(mib(Math.max(...rs.map((x) => x.cacheBytes)))) : null,
  }));
  const what = `${count} JPEGs ${WIDTH}×${HEIGHT} (mean ${Math.round(meanInputBytes / 1024)} KiB) → 320 px JPEG thumbnails or raw RGB, ${concurrency} at once, each output held ${holdMs} ms, median of ${runs} interleaved runs`;
  printResults(what, { what, count, runs, rows }, () =>
    columnTable(rows, [
      ...rateColumns('imagesPerS', 'images/s', 1),
      ...gcColumns(),
      mibColumn('peak RSS MiB', (r) => r.peakRssMiB),
      mibColumn('RSS rise MiB', (r) => r.rssRiseMiB),
      mibColumn('peak arrayBuffers MiB', (r) => r.peakArrayBuffersMiB),
      mibColumn('peak external MiB', (r) => r.peakExternalMiB),
      { header: 'output bytes', cell: (r) => String(r.meanOutputBytes) },
      pageCacheColumn('input page cache left MiB'),
    ]),
  );
}

if (values.child !== undefined) {
  const result = await child(values.child, values.dir ?? tmpdir());
  console.log(JSON.stringify(result));
} else {
  await main();
}
