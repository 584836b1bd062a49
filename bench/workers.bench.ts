/**
 * Rendering off the event loop: `qrBatch(items, { workers })` and `renderPdfInWorker` on
 * `RenderWorkers` vs the same work on the main thread and vs `qrcode.toBuffer`. Reports codes/s
 * and PDFs/s with the ratio to the baseline of the same run, the main thread's event-loop delay
 * (p99 and max, `perf_hooks.monitorEventLoopDelay`) while each batch runs, that the worker codes
 * have exactly the bytes of `renderQr`, and the resident memory of a process with 0, 1 and 2
 * started workers (each in its own child process, after GC).
 *
 * Run: `npm run build && node dist/bench/workers.bench.js [--count 10000] [--baseline 2000]
 * [--pdfs 60] [--pages 2] [--workers 2] [--json]` (through `npm run bench -- workers` pass values
 * as `--count=10000`). `qrcode.toBuffer` runs on `--baseline` codes (it is the slow one); its rate
 * is compared with the others' rates.
 *
 * The timed part runs in a child process in a cpu cgroup of its own (see `cpu-share.ts`), as a
 * service runs in a container with its CPU share; `--no-cgroup` runs it at equal weight with
 * every other process instead. The output names the method used, or why there was no group.
 */

import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import qrcode from 'qrcode';
import { BufferPool, RenderWorkers } from '../src/index.js';
import { renderPdf, renderPdfInWorker } from '../src/integrations/pdfkit/index.js';
import { qrBatch, renderQr } from '../src/integrations/qrcode/index.js';
import { joinCpuShare, runInCpuShare } from './cpu-share.js';
import { interleave, mib, positiveInteger, printResults, runChild, table } from './harness.js';
import { report } from './worker-builds.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    count: { type: 'string', default: '10000' },
    baseline: { type: 'string', default: '2000' },
    pdfs: { type: 'string', default: '60' },
    pages: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    child: { type: 'string' },
    'no-cgroup': { type: 'boolean', default: false },
    part: { type: 'string' },
    cgroup: { type: 'string' },
  },
});
const count = positiveInteger('count', values.count);
const baselineCount = positiveInteger('baseline', values.baseline);
const pdfs = positiveInteger('pdfs', values.pdfs);
const pages = positiveInteger('pages', values.pages);
const threads = positiveInteger('workers', values.workers);
const text = (i: number): string => `https://example.com/t/${i}?k=${(i * 2654435761) >>> 0}`;
const items = (n: number): { id: number; text: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: i, text: text(i) }));
const builds = new URL('./worker-builds.js', import.meta.url);
const documentOptions = { size: 'A4' as const, info: { CreationDate: new Date(0) } };

/**
 * Codes each QR variant renders before it is timed. A worker's JIT needs more than a few hundred
 * codes: after 500 the next 10,000-code batch ran at 4,984 and 5,082 codes/s, the ones after it
 * at 5,600–6,300, so the first variant timed looked slower than the same code timed later.
 */
const WARM_UP = 3000;

interface Row {
  name: string;
  units: number;
  seconds: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

/** Time `run` while sampling the main thread's event-loop delay every 10 ms. */
async function timed(name: string, units: number, run: () => Promise<void>): Promise<Row> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The histogram measures from its previous tick and drops the first: let it tick before the
  // batch starts, or a batch that blocks the loop from its first line would record nothing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const t0 = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // A batch that blocked the loop throughout left its one long delay pending: let it be recorded.
  await new Promise((resolve) => setTimeout(resolve, 50));
  delay.disable();
  return {
    name,
    units,
    seconds,
    delayP99Ms: delay.percentile(99) / 1e6,
    delayMaxMs: delay.max / 1e6,
  };
}

/**
 * The transfer alternative: `threads` plain workers, chunks of 32 codes, two chunks in flight per
 * worker; each transferred PNG is copied into a pool lease. Started and
 * warmed before timing.
 */
async function startTransfer(pool: BufferPool): Promise<{
  batch(n: number): Promise<void>;
  close(): Promise<void>;
}> {
  const script = new URL('./transfer-worker.js', import.meta.url);
  const threadsOf = Array.from({ length: threads }, () => new Worker(script));
  // A worker answers its chunks in order: each reply goes to the oldest chunk waiting on it.
  // (One `once('message')` per chunk would hand the first reply to both chunks in flight, and
  // the batch would end with half its codes still queued in the workers.)
  const waiting = new Map<Worker, ((buffers: ArrayBuffer[]) => void)[]>();
  for (const w of threadsOf) {
    const queue: ((buffers: ArrayBuffer[]) => void)[] = [];
    waiting.set(w, queue);
    w.on('message', (buffers: ArrayBuffer[]) => queue.shift()?.(buffers));
  }
  const run = (w: Worker, inputs: unknown[]): Promise<ArrayBuffer[]> =>
    new Promise((resolve) => {
      waiting.get(w)?.push(resolve);
      w.postMessage(inputs);
    });
  const input = (i: number) => ({
    text: text(i),
    format: 'png',
    scale: 4,
    margin: 4,
    errorCorrectionLevel: 'M',
  });
  const batch = async (n: number): Promise<void> => {
    let next = 0;
    let delivered = 0;
    await Promise.all(
      threadsOf.flatMap((w) =>
        [0, 1].map(async () => {
          while (next < n) {
            const from = next;
            next += 32;
            const chunk = Array.from({ length: Math.min(32, n - from) }, (_, i) => input(from + i));
            for (const memory of await run(w, chunk)) {
              const lease = pool.acquire(memory.byteLength);
              lease.buffer.set(new Uint8Array(memory));
              lease.release();
              delivered++;
            }
          }
        }),
      ),
    );
    if (delivered !== n) throw new Error(`transfer variant delivered ${delivered} of ${n} codes`);
  };
  await batch(WARM_UP);
  return {
    batch,
    close: async () => {
      await Promise.all(threadsOf.map((w) => w.terminate()));
    },
  };
}

/** `n` PDFs with at most `inFlight` at once. */
async function pdfBatch(
  n: number,
  inFlight: number,
  one: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await one(next++);
    }),
  );
}

/** Child: RSS after GC of a process that rendered codes with `n` started workers (0: main thread). */
async function memoryChild(n: number): Promise<void> {
  const pool = new BufferPool({ shared: true });
  const workers = n === 0 ? undefined : new RenderWorkers({ max: n, min: n });
  const options = workers === undefined ? { pool } : { pool, workers, chunkSize: 8 };
  for await (const { lease } of qrBatch(items(500), options)) lease.release();
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const started = workers?.stats().started ?? 0;
  const { rss, heapUsed } = process.memoryUsage();
  await workers?.close();
  console.log(JSON.stringify({ workers: n, started, rss, heapUsed }));
}

/** Child: the timed part (in the cpu cgroup when `--cgroup` names one); prints its rows. */
async function timedChild(): Promise<void> {
  if (values.cgroup !== undefined) await joinCpuShare(values.cgroup);
  const load = loadavg()[0] as number;
  const pool = new BufferPool({ shared: true });
  const workers = new RenderWorkers({ max: threads });
  const rows: Row[] = [];
  // Warm up every path (JIT, worker start) and one PDF.
  for await (const { lease } of qrBatch(items(WARM_UP), { workers, pool })) lease.release();
  for await (const { lease } of qrBatch(items(500), { pool })) lease.release();
  for (let i = 0; i < 50; i++) await qrcode.toBuffer(text(i));
  const data = (seed: number) => ({ pages, seed });
  (
    await renderPdfInWorker(
      { module: builds, export: 'report', data: data(0) },
      { workers, pool, document: documentOptions },
    )
  ).release();
  (
    await renderPdf((doc, ctx) => report(doc, data(0), ctx), { pool, document: documentOptions })
  ).release();

  rows.push(
    await timed('qrcode.toBuffer (main thread)', baselineCount, async () => {
      for (let i = 0; i < baselineCount; i++) await qrcode.toBuffer(text(i));
    }),
  );
  rows.push(
    await timed('qrBatch (main thread)', count, async () => {
      for await (const { lease } of qrBatch(items(count), { pool })) lease.release();
    }),
  );
  rows.push(
    await timed(`qrBatch, ${threads} workers`, count, async () => {
      for await (const { lease } of qrBatch(items(count), { workers, pool })) lease.release();
    }),
  );
  const transfer = await startTransfer(pool);
  rows.push(
    await timed(`transfer + copy, ${threads} workers (alternative)`, count, () =>
      transfer.batch(count),
    ),
  );
  await transfer.close();
  // The transfer variant's chunk size: half the messages per code of the default.
  rows.push(
    await timed(`qrBatch, ${threads} workers, chunkSize 32`, count, async () => {
      const options = { workers, pool, chunkSize: 32 };
      for await (const { lease } of qrBatch(items(count), options)) lease.release();
    }),
  );
  const firstPdf = rows.length;
  rows.push(
    await timed('renderPdf (main thread)', pdfs, () =>
      pdfBatch(pdfs, 2, async (i) => {
        const lease = await renderPdf((doc, ctx) => report(doc, data(i), ctx), {
          pool,
          document: documentOptions,
        });
        lease.release();
      }),
    ),
  );
  rows.push(
    await timed(`renderPdfInWorker, ${threads} workers`, pdfs, () =>
      pdfBatch(pdfs, 2 * threads, async (i) => {
        const lease = await renderPdfInWorker(
          { module: builds, export: 'report', data: data(i) },
          { workers, pool, document: documentOptions },
        );
        lease.release();
      }),
    ),
  );

  // Same bytes: every worker code against single-thread renderQr (untimed).
  let mismatches = 0;
  for await (const { id, lease } of qrBatch(items(count), { workers, pool })) {
    using single = renderQr(text(id));
    if (!single.buffer.equals(lease.buffer)) mismatches++;
    lease.release();
  }
  await workers.close();
  console.log(JSON.stringify({ rows, firstPdf, mismatches, load: [load, loadavg()[0]] }));
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const pass = [
    '--count',
    String(count),
    '--baseline',
    String(baselineCount),
    '--pdfs',
    String(pdfs),
  ];
  pass.push('--pages', String(pages), '--workers', String(threads), '--part', 'timed');
  const { value, method } = await runInCpuShare<{
    rows: Row[];
    firstPdf: number;
    mismatches: number;
    load: number[];
  }>(!values['no-cgroup'], script, pass);
  const { rows, firstPdf, mismatches, load } = value;
  // Three children per count, interleaved; the median RSS of each count is reported.
  type Mem = { workers: number; started: number; rss: number; heapUsed: number };
  const byCount = await interleave(
    [0, 1, 2].map((n) => ({ name: String(n), n })),
    3,
    ({ n }) => runChild<Mem>(script, ['--child', String(n)], ['--expose-gc']),
  );
  const memory = [...byCount.values()].map((runs) => {
    const sorted = [...runs].sort((a, b) => a.rss - b.rss);
    return { ...(sorted[1] as Mem), rssRuns: runs.map((m) => m.rss) };
  });

  const rate = (r: Row): number => r.units / r.seconds;
  const qrBase = rate(rows[0] as Row);
  const pdfBase = rate(rows[firstPdf] as Row);
  printResults(
    'Rendering on worker threads',
    { count, baselineCount, pdfs, pages, threads, method, load, rows, mismatches, memory },
    () =>
      [
        `scheduling: ${method}`,
        `load average (1 min) at start / end of the timed part: ${load.map((l) => l.toFixed(1)).join(' / ')}`,
        '',
        table(
          ['variant', 'items', 'items/s', 'vs baseline', 'loop delay p99 ms', 'max ms'],
          rows.map((r, i) => [
            r.name,
            String(r.units),
            rate(r).toFixed(0),
            `${(rate(r) / (i < firstPdf ? qrBase : pdfBase)).toFixed(2)}×`,
            r.delayP99Ms.toFixed(1),
            r.delayMaxMs.toFixed(1),
          ]),
        ),
        `worker codes with other bytes than renderQr: ${mismatches} of ${count}`,
        '',
        table(
          ['workers started', 'RSS MiB (median of 3)', 'runs', 'Δ vs 0 MiB', 'main heap MiB'],
          memory.map((m) => [
            String(m.started),
            mib(m.rss),
            m.rssRuns.map(mib).join(' / '),
            mib(m.rss - (memory[0]?.rss ?? 0)),
            mib(m.heapUsed),
          ]),
        ),
      ].join('\n'),
  );
}

if (values.child !== undefined) await memoryChild(Number(values.child));
else if (values.part === 'timed') await timedChild();
else await main();
