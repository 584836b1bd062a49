/**
 * Reads the run's memory every 100 ms: the cgroup's figures through `readCgroupMemory` (working set
 * with cadvisor's formula, usage, anon, active/inactive file, failcnt, OOM kills) plus the job
 * process's RSS; without a cgroup, RSS plus the page cache held by the files the run wrote.
 *
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { residency } from '../src/fs/index.js';
import { readCgroupMemory } from '../src/memory/index.js';
import type { Sample } from './types.js';

/** Options of {@link Sampler}. */
export interface SamplerOptions {
  /** The run's cgroup, `null` when it runs unconstrained. */
  cgroupDir: string | null;
  /** The process whose RSS is read: a pid, or a function returning the current one (a service that restarts). */
  pid: number | (() => number);
  /** Files under these paths count as "page cache the run caused" when there is no cgroup. */
  scanPaths: string[];
  /** @default 100 */
  intervalMs?: number;
}

interface Progress {
  items: number;
  gcCount: number;
  gcPauseMs: number;
}

const KIB = 1024;

/** `VmRSS` and `RssAnon` of a process in bytes; zeros once it has exited. */
export async function processRss(pid: number): Promise<{ rss: number; anon: number }> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rss: 0, anon: 0 };
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]) * KIB;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

async function listFiles(p: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(p, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') out.push(p);
    return;
  }
  for (const e of entries) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) await listFiles(full, out);
    else if (e.isFile()) out.push(full);
  }
}

/**
 * Page cache held by the files under `paths`, in bytes (`cachestat`/`mincore` through the native
 * addon). 0 when the addon is missing: the unconstrained mode then reports RSS only.
 */
export async function cachedBytesUnder(paths: string[]): Promise<number> {
  const files: string[] = [];
  for (const p of paths) await listFiles(p, files);
  let total = 0;
  for (const f of files) {
    try {
      total += (await residency(f)).cachedBytes;
    } catch {
      // Deleted meanwhile, or no native addon.
    }
  }
  return total;
}

/** Samples one run on a timer; see the module comment. */
export class Sampler {
  readonly #options: Required<SamplerOptions>;
  readonly #samples: Sample[] = [];
  readonly #start = performance.now();
  #progress: Progress = { items: 0, gcCount: 0, gcPauseMs: 0 };
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> | null = null;
  #fileCache = 0;
  #ticks = 0;
  #onSample: ((s: Sample) => void) | null = null;

  constructor(options: SamplerOptions) {
    this.#options = { intervalMs: 100, ...options };
  }

  /** Samples so far, oldest first. */
  get samples(): readonly Sample[] {
    return this.#samples;
  }

  /** The latest sample, if any. */
  get last(): Sample | undefined {
    return this.#samples.at(-1);
  }

  /** Record the job's latest progress message; later samples carry it. */
  setProgress(progress: Progress): void {
    this.#progress = progress;
  }

  /** Called after every sample (the progress bar uses it). */
  onSample(fn: (s: Sample) => void): void {
    this.#onSample = fn;
  }

  /** Start sampling every `intervalMs`. */
  start(): void {
    if (this.#timer !== null) return;
    const tick = (): void => {
      // A slow read (the machine is busy) must not pile up concurrent reads.
      if (this.#busy === null) {
        this.#busy = this.sampleNow()
          .then(() => {})
          .catch(() => {})
          .finally(() => {
            this.#busy = null;
          });
      }
    };
    tick();
    this.#timer = setInterval(tick, this.#options.intervalMs);
  }

  /** Stop the timer and wait for a sample in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#busy;
  }

  /** Take one sample now (also used for the final reading). */
  async sampleNow(): Promise<Sample> {
    const { cgroupDir, pid, scanPaths } = this.#options;
    const t = Math.round(performance.now() - this.#start);
    const proc = await processRss(typeof pid === 'number' ? pid : pid());
    let s: Sample;
    if (cgroupDir !== null) {
      const m = await readCgroupMemory({ cgroupDir });
      s = {
        t,
        workingSet: m.workingSet,
        usage: m.usage,
        rss: proc.rss,
        anon: m.anon,
        activeFile: m.activeFile,
        inactiveFile: m.inactiveFile,
        failcnt: m.events?.max ?? null,
        oomKills: m.events?.oomKill ?? null,
        ...this.#progress,
      };
    } else {
      // Walking the output tree every 100 ms would cost the job CPU; once a second is enough.
      if (this.#ticks++ % 10 === 0) this.#fileCache = await cachedBytesUnder(scanPaths);
      s = {
        t,
        workingSet: proc.rss + this.#fileCache,
        usage: null,
        rss: proc.rss,
        anon: proc.anon,
        activeFile: null,
        inactiveFile: null,
        failcnt: null,
        oomKills: null,
        ...this.#progress,
      };
    }
    this.#samples.push(s);
    this.#onSample?.(s);
    return s;
  }
}
