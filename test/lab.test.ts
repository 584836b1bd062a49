// The container lab end to end: `--quick` runs both variants of the batch job in their own
// processes (in child memory cgroups where this machine allows it) and writes results.json and the
// chart. Asserts on the shape of the results and on what is left behind, never on timings.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LabResults } from '../lab/report.js';
import type { RunResult } from '../lab/types.js';
import { locateMemoryCgroup } from '../src/linux/index.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../lab/main.js', import.meta.url));

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function labTempDirs(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((n) => n.startsWith('.slabio-lab.slabio-')).sort();
}

/**
 * The run left no work directory of its own. Ones that were there before may be gone: the lab
 * sweeps stale work directories of killed runs (another checkout's, a SIGKILLed test) on start.
 */
function assertNoNewTempDirs(before: string[], after: string[]): void {
  const known = new Set(before);
  assert.deepEqual(
    after.filter((n) => !known.has(n)),
    [],
  );
}

function checkRun(r: RunResult, variant: string): void {
  assert.equal(r.variant, variant);
  assert.equal(typeof r.completed, 'boolean');
  assert.equal(typeof r.oomKilled, 'boolean');
  assert.ok(r.items > 0, `${variant} processed no item: ${r.failure}`);
  assert.ok(r.samples.length >= 3, `${variant} has ${r.samples.length} samples`);
  for (const key of [
    'durationMs',
    'peakWorkingSetBytes',
    'finalWorkingSetBytes',
    'peakRssBytes',
    'pageCacheLeftBytes',
    'gcCount',
    'gcPauseMs',
  ] as const) {
    assert.ok(Number.isFinite(r[key]) && r[key] >= 0, `${variant}.${key} = ${r[key]}`);
  }
  assert.ok(r.peakWorkingSetBytes > 0);
  assert.ok(r.peakWorkingSetBytes >= r.finalWorkingSetBytes);
  const s = r.samples[0];
  assert.ok(s !== undefined);
  for (const key of ['t', 'workingSet', 'rss', 'anon', 'items', 'gcCount', 'gcPauseMs'] as const) {
    assert.equal(typeof s[key], 'number', `sample.${key}`);
  }
  // Samples are in time order and the progress they carry never goes back.
  for (let i = 1; i < r.samples.length; i++) {
    const a = r.samples[i - 1];
    const b = r.samples[i];
    assert.ok(a !== undefined && b !== undefined);
    assert.ok(b.t >= a.t && b.items >= a.items);
  }
  assert.equal(r.samples.at(-1)?.items, r.items);
}

test('npm start --quick runs both variants, records samples and removes its cgroups', async (t) => {
  const out = await tempDir(t);
  const prefix = `slabio-test-${process.pid}-lab`;
  const before = await labTempDirs();

  const { stdout } = await run(
    process.execPath,
    [MAIN, '--quick', '--json', '--out', out, '--cgroup-prefix', prefix],
    { maxBuffer: 64 << 20 },
  );
  const printed = JSON.parse(stdout) as LabResults;
  const res = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as LabResults;
  assert.deepEqual(printed.runs.naive.items, res.runs.naive.items);

  assert.ok(res.limitBytes > 0);
  assert.ok(res.cgroup === 'v1' || res.cgroup === 'v2' || res.cgroup === null);
  checkRun(res.runs.naive, 'naive');
  checkRun(res.runs.slabio, 'slabio');
  // The slabio run must finish: it is the one sized to stay far below the limit.
  assert.equal(res.runs.slabio.completed, true, String(res.runs.slabio.failure));
  assert.equal(res.runs.slabio.items, res.inputs.items);
  // Both jobs get the same process environment, and the defaults are recorded.
  assert.equal(res.options.naiveZip, 'stream');
  assert.equal(res.options.arenaMax, '2');
  assert.equal(res.options.jobEnv, JSON.stringify({ MALLOC_ARENA_MAX: '2' }));
  for (const key of ['peakWorkingSet', 'finalWorkingSet', 'throughput', 'peakRss'] as const) {
    assert.equal(typeof res.ratios[key], 'number');
  }

  const svg = await readFile(path.join(out, 'chart.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<polyline /g)?.length, 2);

  if (res.cgroup === null) {
    t.diagnostic(`ran without a cgroup: ${res.cgroupNote}`);
    assert.equal(res.runs.naive.cgroupDir, null);
  } else {
    for (const r of [res.runs.naive, res.runs.slabio]) {
      assert.ok(r.cgroupDir !== null && path.basename(r.cgroupDir).startsWith(prefix));
      assert.equal(await exists(r.cgroupDir), false, `${r.cgroupDir} was left behind`);
      assert.ok(r.samples.every((s) => s.usage !== null && s.activeFile !== null));
    }
    const parent = path.dirname(res.runs.naive.cgroupDir as string);
    const left = (await readdir(parent)).filter((n) => n.startsWith(prefix));
    assert.deepEqual(left, []);
  }
  // The generated inputs and the jobs' output files are gone too.
  assertNoNewTempDirs(before, await labTempDirs());
});

test('bad flags are refused with the option named and nothing created', async () => {
  await assert.rejects(run(process.execPath, [MAIN, '--limit', 'lots']), (err: unknown) => {
    const e = err as { code?: number; stderr?: string };
    assert.equal(e.code, 2);
    assert.match(e.stderr ?? '', /--limit/);
    return true;
  });
  await assert.rejects(run(process.execPath, [MAIN, '--scale', '0']), /--scale/);
  await assert.rejects(run(process.execPath, [MAIN, '--naive-zip', 'mmap']), /--naive-zip/);
  await assert.rejects(run(process.execPath, [MAIN, '--arena-max', '0']), /--arena-max/);
  await assert.rejects(run(process.execPath, [MAIN, '--arena-max', 'two']), /--arena-max/);
});

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(' ')
      .filter((w) => w.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

// A killed job may linger as a zombie until whoever inherits it reaps it: that counts as gone.
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

for (const sig of ['SIGHUP', 'SIGQUIT'] as const) {
  test(`${sig} while a job runs kills it, removes its cgroup and the temp files`, async (t) => {
    const out = await tempDir(t);
    const prefix = `slabio-test-${process.pid}-${sig.toLowerCase()}`;
    const before = await labTempDirs();
    const loc = await locateMemoryCgroup('/', (f) => readFile(f, 'utf8')).catch(() => null);
    const groups = async (): Promise<string[]> =>
      loc === null ? [] : (await readdir(loc.dir)).filter((n) => n.startsWith(prefix));

    const lab = spawn(
      process.execPath,
      [MAIN, '--quick', '--out', out, '--cgroup-prefix', prefix],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    lab.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = once(lab, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    t.after(() => {
      if (lab.exitCode === null && lab.signalCode === null) lab.kill('SIGKILL');
    });
    // The job process is spawned after its cgroup is made: wait for it (the lab has no other child).
    let jobs: number[] = [];
    while (jobs.length === 0 && lab.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
      jobs = await childrenOf(lab.pid as number);
    }
    assert.ok(jobs.length > 0, `the lab ended before starting a job: ${stderr}`);
    const made = await groups();
    lab.kill(sig);
    const [code] = await exited;
    assert.equal(code, 128 + (os.constants.signals[sig] as number), stderr);
    assert.match(stderr, new RegExp(`${sig}: stopping`));
    if (made.length === 0)
      t.diagnostic('no cgroup was made here; checked processes and temp files');
    assert.deepEqual(await groups(), [], 'a cgroup was left behind');
    for (const pid of jobs) assert.equal(await running(pid), false, `job ${pid} still runs`);
    assertNoNewTempDirs(before, await labTempDirs());
  });
}
