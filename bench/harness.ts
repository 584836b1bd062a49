/**
 * Shared benchmark plumbing: GC and memory measurement, child-process variants, interleaved
 * runs summarised as medians and ratios to a baseline, tables and the `--json` output.
 *
 * Memory is the product, so every benchmark reports GC count and pause time (from
 * PerformanceObserver 'gc' entries) and peak RSS / arrayBuffers next to ops/s. Variants that
 * are compared on memory run in separate child processes so one cannot inflate the other's RSS:
 * the child wraps its timed loop in `measure()`, the parent runs the children with
 * `interleave()` + `runChild()`, then `summarize()`, `columnTable()` and `printResults()`.
 * A benchmark file keeps only its variants, inputs and its own columns.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { promisify } from 'node:util';

/** GC activity since `trackGc()` was called. */
export interface GcTracker {
  readonly count: number;
  readonly pauseMs: number;
  /** Wait for late entries, then stop observing. Await it before reading the totals. */
  stop(): Promise<void>;
}

/** Count GCs and sum their pause times (PerformanceObserver 'gc' entries are pauses, in ms). */
export function trackGc(): GcTracker {
  let count = 0;
  let pauseMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      count++;
      pauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    get count() {
      return count;
    },
    get pauseMs() {
      return pauseMs;
    },
    stop: async () => {
      // Node creates 'gc' entries from a native callback via the event loop, so they arrive
      // well after the GC: after a synchronous loop one setImmediate can still show 0 GCs where
      // 100 ms later there are dozens (measured by the qrcode benchmark).
      await new Promise((resolve) => setTimeout(resolve, 200));
      observer.disconnect();
    },
  };
}

/** Peak RSS, `arrayBuffers` and `external` sampled on a timer plus on demand. */
export interface MemorySampler {
  readonly peakRss: number;
  readonly peakArrayBuffers: number;
  /**
   * Native add-ons' Buffers (napi external buffers, e.g. sharp's output wrapping libvips memory)
   * are counted by Node in `external`, not in `arrayBuffers`.
   */
  readonly peakExternal: number;
  sample(): void;
  stop(): void;
}

export function sampleMemory(intervalMs = 10): MemorySampler {
  let peakRss = 0;
  let peakArrayBuffers = 0;
  let peakExternal = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.arrayBuffers > peakArrayBuffers) peakArrayBuffers = m.arrayBuffers;
    if (m.external > peakExternal) peakExternal = m.external;
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    get peakRss() {
      return peakRss;
    },
    get peakArrayBuffers() {
      return peakArrayBuffers;
    },
    get peakExternal() {
      return peakExternal;
    },
    sample,
    stop: () => clearInterval(timer),
  };
}

/** GC activity and memory peaks of one measured run, plus its wall time. */
export interface Measurement {
  /** Wall time of the measured function, in seconds. */
  seconds: number;
  gcCount: number;
  gcPauseMs: number;
  /** RSS just before the run (inputs and warm-up included), to report the rise over it. */
  rssBefore: number;
  peakRss: number;
  peakArrayBuffers: number;
  peakExternal: number;
}

/** A {@link Measurement} and what the measured function returned. */
export interface Measured<T> extends Measurement {
  value: T;
}

/**
 * Run `run` once while counting GCs and sampling memory every 5 ms; inside a benchmark child,
 * after its warm-up. `run` gets the sampler so a loop can also sample per iteration. Memory is
 * sampled once more after `run` unless `sampleAtEnd` is false: a failed synchronous call
 * leaves its garbage behind, and a sample taken then would report it as the call's peak.
 */
export async function measure<T>(
  run: (memory: MemorySampler) => Promise<T>,
  { sampleAtEnd = true }: { sampleAtEnd?: boolean } = {},
): Promise<Measured<T>> {
  const gc = trackGc();
  const rssBefore = process.memoryUsage().rss;
  const memory = sampleMemory(5);
  let value: T;
  let seconds: number;
  try {
    const t0 = process.hrtime.bigint();
    value = await run(memory);
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sampleAtEnd) memory.sample();
  } finally {
    // The sampler's interval would keep a failed child alive.
    memory.stop();
    await gc.stop(); // waits for late 'gc' entries
  }
  return {
    value,
    seconds,
    gcCount: gc.count,
    gcPauseMs: gc.pauseMs,
    rssBefore,
    peakRss: memory.peakRss,
    peakArrayBuffers: memory.peakArrayBuffers,
    peakExternal: memory.peakExternal,
  };
}

const execFileAsync = promisify(execFile);

/**
 * Run `node [nodeArgs] script args` and parse the JSON it prints as its last stdout line.
 * A child that runs longer than `timeoutMs` (default 10 minutes, `BENCH_CHILD_TIMEOUT_MS`) is
 * killed and the benchmark fails, so a hang is reported instead of waited on forever.
 */
export async function runChild<T>(
  script: string,
  args: string[],
  nodeArgs: string[] = [],
  timeoutMs = Number(process.env.BENCH_CHILD_TIMEOUT_MS ?? 600_000),
): Promise<T> {
  const { stdout } = await execFileAsync(process.execPath, [...nodeArgs, script, ...args], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

/** Make a temporary directory under `parent` (default os.tmpdir()), run `fn` in it, remove it. */
export async function withTempDir<T>(
  prefix: string,
  fn: (dir: string) => Promise<T>,
  parent = os.tmpdir(),
): Promise<T> {
  const dir = await mkdtemp(join(parent, prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Run every variant once per round, `runs` rounds, so slow drift on a shared machine (another
 * job, thermal throttling) spreads over all variants instead of landing on one. Returns each
 * variant's results by name, in run order.
 */
export async function interleave<V extends { readonly name: string }, R>(
  variants: readonly V[],
  runs: number,
  runOne: (variant: V) => Promise<R>,
): Promise<Map<string, R[]>> {
  const results = new Map<string, R[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const v of variants) results.get(v.name)?.push(await runOne(v));
  }
  return results;
}

/** Median; the mean of the two middle values for an even count. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A variant compared with a baseline variant (possibly itself) of the same run. */
export interface Compared {
  readonly name: string;
  readonly baseline: string;
}

/** What a benchmark child reports for every run, next to its own fields. */
export interface RunStats {
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
}

/**
 * One row of medians over a variant's runs: its rate under the benchmark's own key `K`
 * (e.g. `codesPerS`) with min–max and the ratio to its baseline's median, then GC and memory.
 */
export type Summary<K extends string> = {
  name: string;
  baseline: string;
  min: number;
  max: number;
  vsBaseline: number;
  gcCount: number;
  gcPauseMs: number;
  peakRssMiB: number;
  peakArrayBuffersMiB: number;
} & Record<K, number>;

/**
 * Summarise `interleave` results: one {@link Summary} per variant, in order, followed by the
 * benchmark's own fields from `extra` (given the variant, its runs and the median of a field).
 */
export function summarize<
  K extends string,
  V extends Compared,
  R extends RunStats & Record<K, number>,
  E extends object,
>(
  variants: readonly V[],
  results: ReadonlyMap<string, readonly R[]>,
  rateKey: K,
  extra: (variant: V, runs: readonly R[], pick: (f: (r: R) => number) => number) => E,
): (Summary<K> & E)[] {
  const rows = variants.map((v) => {
    const rs = results.get(v.name) ?? [];
    const pick = (f: (r: R) => number): number => median(rs.map(f));
    const rates = rs.map((r) => r[rateKey]);
    return {
      name: v.name,
      baseline: v.baseline,
      [rateKey]: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      vsBaseline: 0,
      gcCount: pick((r) => r.gcCount),
      gcPauseMs: pick((r) => r.gcPauseMs),
      peakRssMiB: Number(mib(pick((r) => r.peakRss))),
      peakArrayBuffersMiB: Number(mib(pick((r) => r.peakArrayBuffers))),
      ...extra(v, rs, pick),
    } as Summary<K> & E;
  });
  for (const row of rows) {
    const rate: number = row[rateKey];
    row.vsBaseline = rate / (rows.find((x) => x.name === row.baseline)?.[rateKey] ?? rate);
  }
  return rows;
}

/** One column of a results table: its header and how a row renders in it. */
export interface Column<R> {
  header: string;
  cell(row: R): string;
}

/** GC count and pause columns, for any row that has them. */
export function gcColumns<R extends { gcCount: number; gcPauseMs: number }>(): Column<R>[] {
  return [
    { header: 'GCs', cell: (r) => String(r.gcCount) },
    { header: 'GC pause ms', cell: (r) => r.gcPauseMs.toFixed(1) },
  ];
}

/** Columns of a {@link Summary}: variant, rate with `digits` decimals, min–max, vs baseline. */
export function rateColumns<K extends string>(
  rateKey: K,
  header: string,
  digits: number,
): Column<Summary<K>>[] {
  return [
    { header: 'variant', cell: (r) => r.name },
    { header, cell: (r) => r[rateKey].toFixed(digits) },
    { header: 'min–max', cell: (r) => `${r.min.toFixed(digits)}–${r.max.toFixed(digits)}` },
    { header: 'vs baseline', cell: (r) => `${r.vsBaseline.toFixed(2)}× ${r.baseline}` },
  ];
}

/** A column of MiB with one decimal, from a value already in MiB. */
export function mibColumn<R>(header: string, get: (row: R) => number): Column<R> {
  return { header, cell: (r) => get(r).toFixed(1) };
}

/** Page cache the written files still occupy, `-` for variants that write none. */
export function pageCacheColumn<R extends { cacheMiB: number | null }>(header: string): Column<R> {
  return { header, cell: (r) => (r.cacheMiB === null ? '-' : r.cacheMiB.toFixed(2)) };
}

/** Render `rows` through `columns` with {@link table}. */
export function columnTable<R>(rows: readonly R[], columns: readonly Column<NoInfer<R>>[]): string {
  return table(
    columns.map((c) => c.header),
    rows.map((r) => columns.map((c) => c.cell(r))),
  );
}

/**
 * The end of a compared-variants benchmark: with `--json`, `{ environment, ...json }` indented;
 * otherwise the title, the environment line and the table.
 */
export function printResults(
  title: string,
  json: Record<string, unknown>,
  renderTable: () => string,
): void {
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), ...json }, null, 2));
    return;
  }
  console.log(title);
  console.log(environment());
  console.log(renderTable());
}

/** Render rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Mebibytes with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** The environment line every RESULTS.md entry starts with. */
export function environment(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${os.platform()} ${os.release()}, ${cpu} × ${os.cpus().length}, ${new Date().toISOString().slice(0, 10)}`;
}

/** The value of `--<flag>` as an integer ≥ 1; a RangeError names the flag and what was given. */
export function positiveInteger(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${flag} must be ≥ 1, got ${raw}`);
  return n;
}

/** Whether `--json` was passed. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--json');
}
