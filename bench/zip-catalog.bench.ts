/**
 * What judging a zip costs on 1000-entry archives: slabio's `extractZip` with a no-op `onEntry`
 * (nothing is written, so the end record, central directory and local header checks, the reads,
 * inflate and CRC-32 are what is timed) against yauzl reading the same entries without any check
 * (`eachEntry` + `openReadStream` drained), the floor every yauzl-based extractor pays. Two
 * archives from yazl: 1000 × 1 KiB of text added as streams (data descriptors after every
 * entry: the most records to read) and 1000 × 16 KiB of noise added as buffers.
 *
 * Run: `npm run bench -- zip-catalog` (add `--json` for machine output, `--quick` for a short run,
 * `--against=<dir>` to compare with another checkout's build, e.g. a worktree of an earlier commit
 * after `npm run build` there: both `extractZip`s then run in alternation in this process, 40
 * pairs per case, reporting median wall and CPU time and the median of the per-pair ratios, which
 * a shared, noisy machine distorts far less than two separate runs). The archives go to a
 * temporary directory under os.tmpdir(), removed afterwards.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Bench } from 'tinybench';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { extractZip } from '../src/integrations/zip/index.js';
import { environment, median, table, wantsJson, withTempDir } from './harness.js';

const KiB = 1024;
const ENTRIES = 1000;
const quick = process.argv.includes('--quick');
const against = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
type Extract = typeof extractZip;
const other: Extract | null =
  against === undefined
    ? null
    : (
        (await import(join(resolve(against), 'dist/src/integrations/zip/index.js'))) as {
          extractZip: Extract;
        }
      ).extractZip;

interface PairRow {
  archive: string;
  source: string;
  msThis: number;
  msAgainst: number;
  pairRatio: number;
  cpuMsThis: number;
  cpuMsAgainst: number;
}

const PAIRS = quick ? 10 : 40;

/** One call of `fn`: wall and CPU (user + system) milliseconds. */
async function timed(fn: () => Promise<unknown>): Promise<[number, number]> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / 1000];
}

/** This checkout's `extractZip` and `other` in alternation (which goes first alternates too). */
async function pairs(
  archive: string,
  sources: [string, string | Buffer][],
  other: Extract,
): Promise<PairRow[]> {
  const onEntry = (): undefined => undefined;
  const rows: PairRow[] = [];
  for (const [source, input] of sources) {
    const mine: [number, number][] = [];
    const theirs: [number, number][] = [];
    for (let i = -3; i < PAIRS; i++) {
      const a = (): Promise<unknown> => extractZip(input, null, { onEntry });
      const b = (): Promise<unknown> => other(input, null, { onEntry });
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      const t1 = await timed(first);
      const t2 = await timed(second);
      if (i < 0) continue;
      mine.push(i % 2 === 0 ? t1 : t2);
      theirs.push(i % 2 === 0 ? t2 : t1);
    }
    rows.push({
      archive,
      source,
      msThis: median(mine.map((t) => t[0])),
      msAgainst: median(theirs.map((t) => t[0])),
      pairRatio: median(mine.map((t, k) => t[0] / (theirs[k] as [number, number])[0])),
      cpuMsThis: median(mine.map((t) => t[1])),
      cpuMsAgainst: median(theirs.map((t) => t[1])),
    });
  }
  return rows;
}

interface Row {
  archive: string;
  task: string;
  msPerArchive: number;
  rmePercent: number;
  vsYauzl: number;
}

function noise(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i + 4 <= n; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

async function makeZip(size: number, streamed: boolean): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (let i = 0; i < ENTRIES; i++) {
    const data = streamed
      ? Buffer.from(`line ${i} of a small text file\n`.repeat(Math.ceil(size / 28)).slice(0, size))
      : noise(size, i + 1);
    const name = `dir${i % 10}/file-${String(i).padStart(4, '0')}.bin`;
    if (streamed) zip.addReadStream(Readable.from([data]), name);
    else zip.addBuffer(data, name, { compress: false });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function yauzlReadAll(file: string): Promise<number> {
  const zipfile = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  let bytes = 0;
  for await (const entry of zipfile.eachEntry()) {
    if (entry.fileName.endsWith('/')) continue;
    for await (const chunk of await zipfile.openReadStreamPromise(entry)) {
      bytes += (chunk as Buffer).length;
    }
  }
  zipfile.close();
  return bytes;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const pairRows: PairRow[] = [];
  await withTempDir('slabio-bench-zip-catalog-', async (dir) => {
    const archives: [string, Buffer][] = [
      [`${ENTRIES} × 1 KiB text, data descriptors`, await makeZip(KiB, true)],
      [`${ENTRIES} × 16 KiB noise, stored`, await makeZip(16 * KiB, false)],
    ];
    for (const [label, zip] of archives) {
      const file = join(dir, 'bench.zip');
      await writeFile(file, zip);
      let sink = 0;
      const onEntry = (): undefined => undefined;
      const bench = new Bench({ time: quick ? 500 : 3000, warmupTime: quick ? 100 : 500 });
      bench
        .add('yauzl, no checks (path)', async () => {
          sink += await yauzlReadAll(file);
        })
        .add('slabio extractZip onEntry (path)', async () => {
          sink += (await extractZip(file, null, { onEntry })).bytes;
        })
        .add('slabio extractZip onEntry (Buffer)', async () => {
          sink += (await extractZip(zip, null, { onEntry })).bytes;
        });
      await bench.run();
      const base = bench.getTask('yauzl, no checks (path)')?.result;
      const baseMs = base && 'latency' in base ? base.latency.mean : Number.NaN;
      for (const task of bench.tasks) {
        const r = task.result;
        if (!('latency' in r)) throw new Error(`${task.name} did not complete`);
        rows.push({
          archive: `${label} (${(zip.length / KiB / KiB).toFixed(1)} MiB)`,
          task: task.name,
          msPerArchive: r.latency.mean,
          rmePercent: r.latency.rme,
          vsYauzl: r.latency.mean / baseMs,
        });
      }
      if (sink === 0.5) console.log(sink);
      if (other !== null) {
        pairRows.push(
          ...(await pairs(
            label,
            [
              ['path', file],
              ['Buffer', zip],
            ],
            other,
          )),
        );
      }
    }
  });
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), against, rows, pairRows }));
    return;
  }
  console.log(`zip-catalog.bench — ${environment()}\n`);
  console.log(
    table(
      ['archive', 'task', 'ms / archive', '±', 'vs yauzl'],
      rows.map((r) => [
        r.archive,
        r.task,
        r.msPerArchive.toFixed(1),
        `${r.rmePercent.toFixed(1)}%`,
        `${r.vsYauzl.toFixed(2)}×`,
      ]),
    ),
  );
  if (against === undefined) return;
  console.log(`\nthis checkout vs --against ${resolve(against)}, ${PAIRS} alternating pairs:\n`);
  console.log(
    table(
      ['archive', 'source', 'ms this', 'ms against', 'pair ratio', 'CPU ms this', 'CPU ms against'],
      pairRows.map((r) => [
        r.archive,
        r.source,
        r.msThis.toFixed(1),
        r.msAgainst.toFixed(1),
        `${r.pairRatio.toFixed(2)}×`,
        r.cpuMsThis.toFixed(1),
        r.cpuMsAgainst.toFixed(1),
      ]),
    ),
  );
}

await main();
