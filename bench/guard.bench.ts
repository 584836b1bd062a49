/**
 * How fast the memory guard reacts: from the moment a process in a 256 MiB cgroup starts the
 * allocation that takes the working set over the hard threshold (default 0.95) to the guard's
 * `onHard`. The guard runs in this process and watches the group (`reader.cgroupDir`); a child in
 * the group holds a ballast 1 MiB below the threshold and, on command, notes
 * `process.hrtime.bigint()` (CLOCK_MONOTONIC, comparable across processes) and allocates and
 * touches 2 MiB. The time is taken from the start of that allocation, so it is an upper bound of
 * the time from the kernel's counter crossing.
 *
 * Variants, default thresholds throughout: the native wake-up (`wake`, the default); the timer
 * alone at the default 1000 ms and at 50 ms (`wake: false`), the baseline a user has without the
 * wake-up; and the wake-up while this process's event loop is blocked by 200 ms of synchronous
 * work that starts as the child is told to allocate.
 *
 * Needs root and a cgroup v1 or v2 memory controller; says why and exits 0 where there is none.
 * Run: `npm run bench -- guard [--json] [--runs 200]`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MemoryGuard, type MemoryGuardOptions, readCgroupMemory } from '../src/index.js';
import { positiveInteger, printResults, table } from './harness.js';

const MiB = 1024 * 1024;
const LIMIT = 256 * MiB;
const IDLE_MS = 3000;

// Freed steps must leave the group: a fixed mmap threshold keeps glibc from growing it (and its
// heap) after the first free, so each 2 MiB step is its own mapping, unmapped by the GC.
const HOLDER = `
import { createInterface } from 'node:readline';
let ballast = [];
let step = null;
const say = (s) => process.stdout.write(s + '\\n');
say('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'base') { ballast.push(Buffer.alloc(Number(arg) * 1024 * 1024).fill(1)); say('ok'); }
  if (cmd === 'step') {
    const t0 = process.hrtime.bigint();
    step = Buffer.alloc(Number(arg) * 1024 * 1024).fill(1);
    say('t0 ' + t0);
  }
  if (cmd === 'free') { step = null; globalThis.gc(); say('ok'); }
  if (cmd === 'drop') { ballast = []; globalThis.gc(); say('ok'); }
}
`;

interface Variant {
  name: string;
  options: MemoryGuardOptions;
  blockMs: number;
  runs: number;
}

interface Row {
  variant: string;
  runs: number;
  wake: string;
  p50: number;
  p99: number;
  max: number;
}

async function makeGroup(): Promise<{ dir: string; version: 1 | 2 } | string> {
  if (process.platform !== 'linux') return `needs Linux cgroups, running on ${process.platform}`;
  const name = `slabio-bench-${process.pid}-guard`;
  let dir = path.join('/sys/fs/cgroup/memory', name);
  let version: 1 | 2 = 1;
  try {
    await access('/sys/fs/cgroup/memory/memory.usage_in_bytes');
  } catch {
    dir = path.join('/sys/fs/cgroup', name);
    version = 2;
  }
  try {
    await mkdir(dir);
    await writeFile(
      path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'),
      `${LIMIT}`,
    );
    if (version === 1) await writeFile(path.join(dir, 'memory.swappiness'), '0').catch(() => {});
    else await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => {});
  } catch (err) {
    await rmdir(dir).catch(() => {});
    return `cannot create a memory cgroup with a limit at ${dir}: ${(err as Error).message}`;
  }
  return { dir, version };
}

async function removeGroup(dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20);
    }
  }
}

function holder(dir: string): { child: ChildProcess; next: () => Promise<string> } {
  const join = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(path.join(dir, 'cgroup.procs'))}, String(process.pid));\n`;
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', join + HOLDER],
    {
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(64 * 1024) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: string[] = [];
  const waiters: Array<(s: string) => void> = [];
  lines.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const next = () =>
    new Promise<string>((resolve) => {
      const l = queue.shift();
      if (l !== undefined) resolve(l);
      else waiters.push(resolve);
    });
  return { child, next };
}

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Synchronous work: nothing else runs on this thread.
  }
}

function percentile(sorted: number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

async function measureVariant(dir: string, v: Variant, h: ReturnType<typeof holder>): Promise<Row> {
  const times: number[] = [];
  let wake = 'timer';
  for (let r = 0; r < v.runs; r++) {
    let hardAt = 0n;
    const hard = new Promise<void>((resolve) => {
      const guard = new MemoryGuard({
        ...v.options,
        mallocTrim: false,
        dropCache: false,
        reader: { cgroupDir: dir },
        onHard: () => {
          hardAt = process.hrtime.bigint();
          guard.close();
          resolve();
        },
      });
      void (async () => {
        for (
          let i = 0;
          i < 200 && v.options.wake !== false && guard.stats().wake === 'timer';
          i++
        ) {
          await sleep(2);
        }
        wake = guard.stats().wake;
        // One sample puts the guard at 'soft' (the ballast is above it), armed for 'hard'.
        await guard.sample();
        // A crossing comes at any phase of the timer, not right after a sample.
        if (v.options.wake === false) await sleep(Math.random() * (v.options.intervalMs ?? 1000));
        h.child.stdin?.write('step 2\n');
        if (v.blockMs > 0) blockFor(v.blockMs);
      })();
    });
    const t0 = BigInt((await h.next()).split(' ')[1] as string);
    await hard;
    times.push(Number(hardAt - t0) / 1e6);
    h.child.stdin?.write('free\n');
    await h.next();
  }
  times.sort((a, b) => a - b);
  return {
    variant: v.name,
    runs: v.runs,
    wake,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times[times.length - 1] ?? Number.NaN,
  };
}

// CPU time of this whole process (all threads) over `ms` with the guard idle below soft.
async function idleCpu(options: MemoryGuardOptions | null, ms: number): Promise<number> {
  const guard = options === null ? null : new MemoryGuard(options);
  for (let i = 0; i < 200 && guard !== null && guard.stats().wake === 'timer'; i++) await sleep(5);
  const wake = guard?.stats().wake;
  const before = process.cpuUsage();
  await sleep(ms);
  const used = process.cpuUsage(before);
  guard?.close();
  // Let a timer sample that was under way when closed finish before its files go.
  await sleep(100);
  if (options !== null && options.wake !== false && wake === 'timer') throw new Error('no wake-up');
  return ((used.user + used.system) / 1000 / ms) * 100;
}

// A copy of what the kernel shows in a v2 group's files, as plain files: the re-read path the
// thread takes on cgroup v2 (no threshold events) is the same code.
async function v2Files(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'slabio-bench-guard-'));
  await writeFile(path.join(tmp, 'memory.current'), `${64 * MiB}\n`);
  await writeFile(path.join(tmp, 'memory.max'), `${LIMIT}\n`);
  await writeFile(
    path.join(tmp, 'memory.stat'),
    'anon 0\nfile 0\nactive_file 0\ninactive_file 0\n',
  );
  return { dir: tmp, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '200' },
    },
  });
  const runs = positiveInteger('runs', values.runs);
  const group = await makeGroup();
  if (typeof group === 'string') {
    console.log(`guard.bench skipped: ${group}`);
    return;
  }
  const h = holder(group.dir);
  const rows: Row[] = [];
  const idle: Array<[string, number]> = [];
  try {
    await h.next();
    // Ballast up to 1 MiB below the hard threshold, whatever the child's own footprint is.
    const hardBytes = Math.round(0.95 * LIMIT);
    const m = await readCgroupMemory({ cgroupDir: group.dir });
    h.child.stdin?.write(`base ${Math.floor((hardBytes - MiB - m.workingSet) / MiB)}\n`);
    await h.next();
    const variants: Variant[] = [
      { name: 'wake-up (default)', options: {}, blockMs: 0, runs },
      {
        name: 'timer 50 ms',
        options: { wake: false, intervalMs: 50 },
        blockMs: 0,
        runs: Math.max(1, Math.ceil(runs / 4)),
      },
      {
        name: 'timer 1000 ms (default interval)',
        options: { wake: false },
        blockMs: 0,
        runs: Math.max(1, Math.ceil(runs / 20)),
      },
      {
        name: 'wake-up, loop blocked 200 ms',
        options: {},
        blockMs: 200,
        runs: Math.max(1, Math.ceil(runs / 10)),
      },
    ];
    for (const v of variants) rows.push(await measureVariant(group.dir, v, h));
    // Idle means below soft: the ballast goes first.
    h.child.stdin?.write('drop\n');
    await h.next();
    const files = await v2Files();
    try {
      const quiet = { mallocTrim: false as const, dropCache: false as const, reclaim: false };
      idle.push(['no guard', await idleCpu(null, IDLE_MS)]);
      idle.push([
        'timer only (1000 ms)',
        await idleCpu({ ...quiet, wake: false, reader: { cgroupDir: group.dir } }, IDLE_MS),
      ]);
      idle.push([
        'wake-up, eventfd (v1)',
        await idleCpu({ ...quiet, reader: { cgroupDir: group.dir } }, IDLE_MS),
      ]);
      idle.push([
        'wake-up, 5 ms re-read (v2 files)',
        await idleCpu({ ...quiet, reader: { cgroupDir: files.dir } }, IDLE_MS),
      ]);
    } finally {
      await files.cleanup();
    }
  } finally {
    h.child.stdin?.end();
    h.child.kill('SIGKILL');
    await once(h.child, 'close').catch(() => {});
    await removeGroup(group.dir);
  }
  const base = rows[0]?.p99 ?? Number.NaN;
  printResults(
    'guard.bench — allocation start over the hard threshold → onHard, 256 MiB cgroup',
    { rows, idleCpuPercent: Object.fromEntries(idle) },
    () =>
      `${table(
        ['variant', 'runs', 'woken by', 'p50 ms', 'p99 ms', 'max ms', 'p99 vs wake-up'],
        rows.map((r) => [
          r.variant,
          String(r.runs),
          r.wake,
          r.p50.toFixed(2),
          r.p99.toFixed(2),
          r.max.toFixed(2),
          `${(r.p99 / base).toFixed(1)}×`,
        ]),
      )}\n\nidle guard, below soft (${IDLE_MS / 1000} s, CPU of the whole process)\n${table(
        ['guard', 'CPU %'],
        idle.map(([name, pct]) => [name, pct.toFixed(2)]),
      )}`,
  );
}

await main();
