/**
 * Shared benchmark plumbing: GC and memory measurement, child-process variants, tables.
 *
 * Memory is the product, so every benchmark reports GC count and pause time (from
 * PerformanceObserver 'gc' entries) and peak RSS / arrayBuffers next to ops/s. Variants that
 * are compared on memory run in separate child processes so one cannot inflate the other's RSS.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
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

/** Peak RSS and `arrayBuffers` sampled on a timer plus on demand. */
export interface MemorySampler {
  readonly peakRss: number;
  readonly peakArrayBuffers: number;
  sample(): void;
  stop(): void;
}

export function sampleMemory(intervalMs = 10): MemorySampler {
  let peakRss = 0;
  let peakArrayBuffers = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.arrayBuffers > peakArrayBuffers) peakArrayBuffers = m.arrayBuffers;
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
    sample,
    stop: () => clearInterval(timer),
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

/** Whether `--json` was passed. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--json');
}
