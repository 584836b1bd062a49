/**
 * One run of one variant: a fresh cgroup with the limit, the job process placed into it before it
 * allocates, samples every 100 ms, and everything (process, cgroup, output files) cleaned up on
 * every path out.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dropCache } from '../src/fs/index.js';
import { readCgroupMemory } from '../src/memory/index.js';
import { type CgroupSupport, createCgroup, type LabCgroup } from './cgroup.js';
import { cachedBytesUnder, Sampler } from './sampler.js';
import type { ChildMessage, JobSpec, ParentMessage, RunResult, Sample, Variant } from './types.js';

/** Options of {@link runVariant}. */
export interface RunOptions {
  variant: Variant;
  spec: JobSpec;
  support: CgroupSupport;
  limitBytes: number;
  /** The group is named `<prefix>-<variant>-<n>`. */
  cgroupPrefix: string;
  /** Pause after the job before the final reading, with the process still alive, ms. */
  settleMs: number;
  /** Give up (and kill the job) after this long, ms. */
  timeoutMs: number;
  /** Environment of the job process on top of the lab's; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Called with each sample while the run goes on. */
  onSample?: (s: Sample) => void;
  /** Called once with the reason when the run has to go without a cgroup. */
  onNotice?: (msg: string) => void;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
const BASELINE_MS = 400;
const STDERR_TAIL = 4096;

/** Job processes alive right now, so a signal handler can kill the unconstrained ones too. */
export const liveChildren = new Set<ChildProcess>();

let serial = 0;

/**
 * Start `node <args>` inside the cgroup `cg` (or unconstrained when `null`). The process joins the
 * group before node starts: the shell writes its own pid into cgroup.procs and then execs node, so
 * node's whole startup is charged to the group. `env` is added to this process's environment;
 * `undefined` removes a variable. stdin is ignored, stdout and stderr are pipes, plus an IPC channel.
 */
export function spawnInCgroup(
  args: string[],
  cg: { procsFile: string } | null,
  extraEnv: Record<string, string | undefined>,
): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extraEnv)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const options = {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as Array<'ignore' | 'pipe' | 'ipc'>,
    env,
  };
  return cg === null
    ? spawn(process.execPath, args, options)
    : spawn(
        '/bin/sh',
        ['-c', 'echo $$ > "$0" && exec "$@"', cg.procsFile, process.execPath, ...args],
        options,
      );
}

function spawnJob(
  variant: Variant,
  spec: JobSpec,
  cg: LabCgroup | null,
  extraEnv: Record<string, string | undefined>,
): ChildProcess {
  return spawnInCgroup([CHILD, variant, JSON.stringify(spec)], cg, extraEnv);
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Run one variant of the job; never throws for a job that fails, only reports it. */
export async function runVariant(o: RunOptions): Promise<RunResult> {
  await rm(o.spec.outDir, { recursive: true, force: true });
  await mkdir(o.spec.outDir, { recursive: true });
  // The zip was written by the parent, so its pages are charged to the parent's group. Dropping
  // them makes the job read it from disk and be charged for whatever cache that leaves.
  await dropCache(o.spec.zipPath).catch(() => {});

  let cg: LabCgroup | null = null;
  if (o.support.ok) {
    const made = await createCgroup(
      o.support,
      `${o.cgroupPrefix}-${o.variant}-${++serial}`,
      o.limitBytes,
    );
    if (typeof made === 'string') o.onNotice?.(`${made}; running unconstrained`);
    else cg = made;
  }

  const child = spawnJob(o.variant, o.spec, cg, o.env ?? {});
  liveChildren.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_TAIL);
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const sampler = new Sampler({
    cgroupDir: cg?.dir ?? null,
    pid: child.pid ?? 0,
    scanPaths: [o.spec.outDir, o.spec.zipPath],
  });
  if (o.onSample) sampler.onSample(o.onSample);
  const send = (m: ParentMessage) => {
    if (child.connected) child.send(m);
  };

  let done: Extract<ChildMessage, { type: 'done' }> | null = null;
  let failure: string | null = null;
  let readyAt = -1;
  let startedAt = -1;
  let final: Sample | undefined;
  try {
    sampler.start();
    const outcome = await new Promise<'done' | 'exit' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), o.timeoutMs);
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          readyAt = sampler.samples.length;
          setTimeout(() => {
            startedAt = sampler.samples.length;
            send({ type: 'start' });
          }, BASELINE_MS);
        } else if (m.type === 'progress') {
          sampler.setProgress(m);
        } else if (m.type === 'done') {
          done = m;
          sampler.setProgress(m);
          clearTimeout(timer);
          resolve('done');
        } else if (m.type === 'error') {
          failure = m.message.split('\n')[0] ?? m.message;
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve('exit');
      });
    });
    if (outcome === 'timeout') failure = `timed out after ${Math.round(o.timeoutMs / 1000)} s`;
    if (outcome === 'done') {
      await new Promise((r) => setTimeout(r, o.settleMs));
      // The final reading: after the settle pause, with the process (and what it holds) alive.
      final = await sampler.sampleNow();
      send({ type: 'exit' });
    } else {
      child.kill('SIGKILL');
    }
    const { code, signal } = await exited;
    liveChildren.delete(child);
    await sampler.stop();
    // A job that died gets one more reading: what its death left charged to the group.
    if (final === undefined) final = await sampler.sampleNow().catch(() => sampler.last);

    let oomKilled = false;
    if (cg !== null) {
      const m = await readCgroupMemory({ cgroupDir: cg.dir }).catch(() => null);
      oomKilled = (m?.events?.oomKill ?? 0) > 0 && done === null;
    }
    if (done === null && failure === null) {
      failure = oomKilled
        ? 'OOM-killed'
        : `exited with ${signal ?? code}${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`;
    }
    return summarize(o, sampler.samples, done, {
      failure,
      oomKilled,
      cgroupDir: cg?.dir ?? null,
      readyAt,
      startedAt,
      final,
      pageCacheLeft:
        cg !== null
          ? (final?.activeFile ?? 0) + (final?.inactiveFile ?? 0)
          : await cachedBytesUnder([o.spec.outDir, o.spec.zipPath]),
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    liveChildren.delete(child);
    await sampler.stop();
    await rm(o.spec.outDir, { recursive: true, force: true });
    await cg?.remove();
  }
}

interface Extra {
  failure: string | null;
  oomKilled: boolean;
  cgroupDir: string | null;
  readyAt: number;
  startedAt: number;
  final: Sample | undefined;
  pageCacheLeft: number;
}

function summarize(
  o: RunOptions,
  samples: readonly Sample[],
  done: Extract<ChildMessage, { type: 'done' }> | null,
  x: Extra,
): RunResult {
  const ws = samples.map((s) => s.workingSet);
  const baselineSamples =
    x.readyAt >= 0 && x.startedAt > x.readyAt ? samples.slice(x.readyAt, x.startedAt) : [];
  const lastProgress = samples.at(-1);
  const items = done?.items ?? lastProgress?.items ?? 0;
  const durationMs = done?.durationMs ?? 0;
  return {
    variant: o.variant,
    completed: done !== null,
    oomKilled: x.oomKilled,
    failure: x.failure,
    durationMs: Math.round(durationMs),
    items,
    itemsPerSec: durationMs > 0 ? (items * 1000) / durationMs : 0,
    baselineWorkingSetBytes: median(baselineSamples.map((s) => s.workingSet)),
    peakWorkingSetBytes: Math.max(0, ...ws),
    finalWorkingSetBytes: x.final?.workingSet ?? 0,
    peakRssBytes: Math.max(done?.maxRssBytes ?? 0, ...samples.map((s) => s.rss)),
    pageCacheLeftBytes: x.pageCacheLeft,
    gcCount: done?.gcCount ?? lastProgress?.gcCount ?? 0,
    gcPauseMs: Math.round((done?.gcPauseMs ?? lastProgress?.gcPauseMs ?? 0) * 10) / 10,
    failcnt: samples.reduce<number | null>(
      (m, s) => (s.failcnt === null ? m : Math.max(m ?? 0, s.failcnt)),
      null,
    ),
    loopDelayP99Ms: done === null ? null : Math.round(done.loopDelayP99Ms * 10) / 10,
    loopDelayMaxMs: done === null ? null : Math.round(done.loopDelayMaxMs * 10) / 10,
    cgroupDir: x.cgroupDir,
    samples: [...samples],
  };
}
