/**
 * Shared benchmark plumbing: GC and memory measurement, child-process variants, interleaved
 * runs; reporting (medians, ratios, tables, `--json`) is in `report.ts`, re-exported here.
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

export * from './report.js';
