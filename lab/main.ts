/**
 * The container lab (`npm start`): the same batch job — unpack a zip of photos, resize each, write
 * thumbnails, read them back twice as an uploader would, a QR code per item, QR label sheets as
 * PDFs written and read back — run naive and with slabio, each in its own process inside a fresh
 * memory cgroup with the same limit, sampled every 100 ms.
 *
 * Flags: `--quick` (about 10 s, used by the tests), `--scale N` (more photos), `--limit SIZE`
 * (`512M`, `1G`, bytes), `--find-limit` (also bisect the smallest limit each variant completes
 * under), `--naive-zip stream|buffer` (how the naive job opens the upload), `--arena-max N|none`
 * (glibc's `MALLOC_ARENA_MAX` for both jobs), `--json` (print results.json instead of the table),
 * `--out DIR` (default `lab-results/`), `--cgroup-prefix NAME` (the tests use `slabio-test-<pid>`).
 *
 * @module
 */
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createOwnedDir } from '../src/fs/owned-temp.js';
import { probeCgroupSupport, releaseCgroupSupport, removeAllCgroupsSync } from './cgroup.js';
import { findLimits } from './find-limit.js';
import { makeInputs } from './inputs.js';
import { Progress } from './progress.js';
import {
  compare,
  type FindLimitResult,
  formatReport,
  type LabResults,
  writeResults,
} from './report.js';
import { liveChildren, runVariant } from './run.js';
import {
  type JobSpec,
  MiB,
  type NaiveZip,
  type RunResult,
  VARIANTS,
  type Variant,
} from './types.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The environment both job processes start with, on top of the lab's own: the same for both, so
 * the allocator is not what the comparison measures. By default glibc is limited to 2 malloc
 * arenas: sharp's docs warn about glibc's allocator under libvips' threads and `configureSharp`
 * warns without this or jemalloc, so a deployment following that advice has it whichever way the
 * job is written. It must be set before the process starts. `none` removes the variable (glibc's default, 8 arenas per
 * core), also when the lab itself was started with it.
 */
function jobEnv(arenaMax: string): Record<string, string | undefined> {
  if (arenaMax === 'none') return { MALLOC_ARENA_MAX: undefined };
  if (!/^[1-9]\d{0,2}$/.test(arenaMax)) {
    throw new RangeError(`--arena-max must be a number from 1 to 999 or none, got ${arenaMax}`);
  }
  return { MALLOC_ARENA_MAX: arenaMax };
}

function parseNaiveZip(text: string): NaiveZip {
  if (text === 'buffer' || text === 'stream') return text;
  throw new RangeError(`--naive-zip must be stream or buffer, got ${text}`);
}

const USAGE = `usage: npm start -- [--quick] [--scale N] [--limit SIZE] [--find-limit] [--naive-zip MODE]
                    [--arena-max N|none] [--json] [--out DIR]
  --quick          small inputs (about 10 s), as the test suite runs it
  --scale N        N times the default number of photos (default 1)
  --limit SIZE     memory limit of each run's cgroup: 512M, 1G or bytes (default: sized so the
                   naive run sits near it)
  --find-limit     also search the smallest limit each variant completes under
  --naive-zip MODE how the naive job opens the upload: stream (yauzl.open on the file, default) or
                   buffer (fs.readFile + yauzl.fromBuffer, as multer memory storage/adm-zip/JSZip)
  --arena-max N    MALLOC_ARENA_MAX for both jobs; none for glibc's default (default 2)
  --json           print results.json to stdout instead of the table
  --out DIR        where results.json and chart.svg go (default lab-results/)
  --cgroup-prefix  name prefix of the child cgroups (default slabio-lab-<pid>)`;

/** Parse `512M`, `1.5G`, `300MiB`, `1048576`. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  if (m === null)
    throw new RangeError(`--limit must be a size like 512M, 1G or bytes, got ${text}`);
  const unit = { '': 1, k: 1024, m: MiB, g: 1024 * MiB }[(m[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 16 * MiB) throw new RangeError(`--limit must be at least 16M, got ${text}`);
  return bytes;
}

interface Plan {
  items: number;
  width: number;
  distinct: number;
  settleMs: number;
}

// Sized on the 2-core reference machine: full ≈ 25 s per variant, --quick ≈ 3 s per variant.
function plan(quick: boolean, scale: number): Plan {
  const items = quick ? 64 : Math.max(1, Math.round(600 * scale));
  const width = quick ? 1600 : 2000;
  return { items, width, distinct: Math.min(items, quick ? 8 : 24), settleMs: quick ? 800 : 1500 };
}

/**
 * The default limit: where the naive run sits. About 160 MiB of sharp/libvips, V8 and malloc
 * arenas plus the active cache of the thumbnails it read back, and with `--naive-zip buffer` the
 * whole upload on top (measured on the reference machine with `MALLOC_ARENA_MAX=2`: 176 MiB
 * peak streaming a 273 MiB zip of 600 photos, ~400 MiB reading it whole).
 */
function defaultLimit(zipBytes: number, items: number, naiveZip: NaiveZip): number {
  const expected = (naiveZip === 'buffer' ? zipBytes : 0) + 160 * MiB + items * 0.1 * MiB;
  return Math.ceil(expected / (16 * MiB)) * 16 * MiB;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scale: { type: 'string', default: '1' },
      limit: { type: 'string' },
      'find-limit': { type: 'boolean', default: false },
      'naive-zip': { type: 'string', default: 'stream' },
      'arena-max': { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      'cgroup-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 100)) {
    throw new RangeError(`--scale must be a number in (0, 100], got ${values.scale}`);
  }
  const naiveZip = parseNaiveZip(values['naive-zip']);
  const env = jobEnv(values['arena-max']);
  const p = plan(values.quick, scale);
  const fixedLimit = values.limit === undefined ? null : parseSize(values.limit);
  const outDir = path.resolve(values.out ?? path.join(REPO, 'lab-results'));
  const prefix = values['cgroup-prefix'] ?? `slabio-lab-${process.pid}`;
  const progress = new Progress();
  const say = (s: string) => progress.note(s);

  // Named after its owner like slabio's own temp entries: the work directory of a lab killed with
  // SIGKILL (no cleanup runs) is swept by the next run, or by `slabio sweep` on os.tmpdir().
  const work = await createOwnedDir(os.tmpdir(), 'slabio-lab', 'work');
  const workDir = work.path;
  installCleanup(workDir, progress);
  try {
    const support = await probeCgroupSupport({ leafName: `${prefix}-lab` });
    if (!support.ok) say(`note: ${support.reason}; running unconstrained`);
    say(`generating ${p.items} photos (${p.width}px)…`);
    const inputs = await makeInputs({
      zipPath: path.join(workDir, 'photos.zip'),
      items: p.items,
      distinct: p.distinct,
      width: p.width,
    });
    const limitBytes = fixedLimit ?? defaultLimit(inputs.zipBytes, inputs.items, naiveZip);
    const spec = (variant: Variant): JobSpec => ({
      zipPath: inputs.zipPath,
      outDir: path.join(workDir, `out-${variant}`),
      thumbWidth: 800,
      itemsPerPdf: 100,
      concurrency: 2,
      naiveZip,
    });
    let notice: string | null = null;
    const run = (variant: Variant, limitBytes: number, timeoutMs: number, label: string) => {
      progress.begin(label, p.items, support.ok ? limitBytes : null);
      return runVariant({
        variant,
        spec: spec(variant),
        support,
        limitBytes,
        cgroupPrefix: prefix,
        settleMs: p.settleMs,
        timeoutMs,
        env,
        onSample: (s) => progress.update(s),
        onNotice: (m) => {
          notice = m;
          say(`note: ${m}`);
        },
      }).finally(() => progress.end());
    };

    const runs = {} as Record<Variant, RunResult>;
    for (const variant of VARIANTS) {
      runs[variant] = await run(variant, limitBytes, 15 * 60_000, variant);
    }
    const cgroupUsed = runs.naive.cgroupDir !== null || runs.slabio.cgroupDir !== null;
    const { ratios, targets } = compare(runs.naive, runs.slabio);
    const results: LabResults = {
      limitBytes,
      cgroup: cgroupUsed && support.ok ? (`v${support.version}` as 'v1' | 'v2') : null,
      cgroupNote: cgroupUsed ? null : support.ok ? notice : support.reason,
      environment: {
        node: process.version,
        platform: `${process.platform} ${os.release()}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        totalMemBytes: os.totalmem(),
        date: new Date().toISOString(),
      },
      options: {
        quick: values.quick,
        scale,
        thumbWidth: spec('naive').thumbWidth,
        itemsPerPdf: spec('naive').itemsPerPdf,
        concurrency: spec('naive').concurrency,
        naiveZip,
        arenaMax: values['arena-max'],
        jobEnv: JSON.stringify(env),
      },
      inputs: {
        items: inputs.items,
        zipBytes: inputs.zipBytes,
        imageBytes: inputs.imageBytes,
        width: inputs.width,
        height: inputs.height,
      },
      runs,
      ratios,
      targets,
    };
    if (values['find-limit']) {
      if (!cgroupUsed) {
        say('note: --find-limit needs a memory cgroup; skipped');
      } else {
        const found = await searchLimits(runs, run, values.quick);
        results.findLimit = found;
        results.targets.findLimitAtMostThird = found.ratio !== null && found.ratio <= 1 / 3;
      }
    }
    await writeResults(results, outDir);
    process.stdout.write(
      values.json ? `${JSON.stringify(results, null, 2)}\n` : formatReport(results, outDir),
    );
    return runs.naive.items > 0 || runs.slabio.items > 0 ? 0 : 1;
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await work.release();
    for (const left of releaseCgroupSupport()) say(`note: could not undo ${left}`);
  }
}

async function searchLimits(
  runs: Record<Variant, RunResult>,
  run: (v: Variant, limit: number, timeoutMs: number, label: string) => Promise<RunResult>,
  quick: boolean,
): Promise<FindLimitResult> {
  const step = (quick ? 4 : 8) * MiB;
  // A run squeezed so hard that it crawls counts as failed: three times its free-running time.
  const timeout = (v: Variant) => Math.max(20_000, 3 * runs[v].durationMs + 10_000);
  return findLimits((v, limit) => run(v, limit, timeout(v), `${v} @${limit / MiB}M`), {
    start: {
      naive: Math.max(runs.naive.peakWorkingSetBytes, 64 * MiB),
      slabio: Math.max(runs.slabio.peakWorkingSetBytes, 64 * MiB),
    },
    floorBytes: 32 * MiB,
    stepBytes: step,
    ceilingBytes: Math.min(os.totalmem() / 2, 8192 * MiB),
  });
}

// Ctrl-C / SIGTERM / SIGHUP (terminal closed, ssh dropped) / SIGQUIT (Ctrl-\\): kill the job,
// remove its cgroup and the temp files, undo the cgroup v2 setup, then exit with 128 + the signal
// number as a shell would report it. Synchronous, because nothing asynchronous is guaranteed to
// run once we decide to exit.
function installCleanup(workDir: string, progress: Progress): void {
  const cleanup = (): void => {
    for (const child of liveChildren) child.kill('SIGKILL');
    const left = removeAllCgroupsSync();
    rmSync(workDir, { recursive: true, force: true });
    if (left.length > 0) process.stderr.write(`could not remove cgroups: ${left.join(', ')}\n`);
  };
  for (const sig of CLEANUP_SIGNALS) {
    process.once(sig, () => {
      progress.end();
      // After SIGHUP the terminal may be gone; a failed write must not skip the cleanup.
      try {
        process.stderr.write(`\n${sig}: stopping, removing the lab's cgroups\n`);
      } catch {}
      cleanup();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
  process.once('exit', () => {
    if (liveChildren.size > 0) cleanup();
    else removeAllCgroupsSync();
  });
}

/** Signals the lab cleans up on before exiting. */
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof RangeError ? 2 : 1;
  },
);
