import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeAvailable } from '../src/linux/index.js';
import { type GuardSample, MemoryGuard, type ReliefReport } from '../src/memory/index.js';
import { collect, createTestCgroup, reap, spawnInCgroup } from './cgroup-helpers.js';
import { MiB, tempDir } from './helpers.js';

// Allocates (and touches) the MiB it is told on stdin, keeping all of it.
const HOLDER = `
import { createInterface } from 'node:readline';
const held = [];
process.stdout.write('joined\\n');
for await (const line of createInterface({ input: process.stdin })) {
  held.push(Buffer.alloc(Number(line) * 1024 * 1024).fill(1));
  process.stdout.write('held\\n');
}
`;

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => {
      // Not unref'd: the wake-up itself never keeps the loop alive, so this timer has to.
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
      p.finally(() => clearTimeout(timer)).catch(() => {});
    }),
  ]);

it('wakes at the soft and the hard threshold long before its timer would, and close() stops the wake-up (live)', async (t) => {
  if (!nativeAvailable()) {
    t.skip('the native addon is not built here');
    return;
  }
  const cg = await createTestCgroup('wake', 256 * MiB);
  if (typeof cg === 'string') {
    t.skip(cg);
    return;
  }
  const child = spawnInCgroup(cg.dir, HOLDER);
  const guard = new MemoryGuard({
    soft: 0.5,
    hard: 0.8,
    // The timer alone would first look after a minute: every event below comes from the wake-up.
    intervalMs: 60_000,
    mallocTrim: false,
    dropCache: false,
    reader: { cgroupDir: cg.dir },
  });
  t.after(async () => {
    guard.close();
    child.stdin?.end();
    await reap(child);
    await cg.remove();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const next = async () => ((await once(lines, 'line')) as [string])[0];
  assert.equal(await next(), 'joined');
  for (let i = 0; i < 200 && guard.stats().wake === 'timer'; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(guard.stats().wake, cg.version === 1 ? 'eventfd' : 'poll');
  assert.equal(guard.stats().samples, 0);

  const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
  child.stdin?.write('140\n');
  assert.equal(await next(), 'held');
  const [report] = await within(soft, 5000, "'soft' event");
  assert.ok(report.before.memory.workingSet >= 128 * MiB);
  assert.equal(guard.state, 'soft');

  const hard = once(guard, 'hard') as Promise<[GuardSample]>;
  child.stdin?.write('80\n');
  assert.equal(await next(), 'held');
  const [sample] = await within(hard, 5000, "'hard' event");
  assert.ok(sample.memory.workingSet >= sample.hardBytes);
  assert.ok(guard.stats().wakeups >= 2, `wakeups ${guard.stats().wakeups}`);
  assert.ok(guard.stats().samples >= 2);

  guard.close();
  assert.equal(guard.stats().wake, 'timer');
});

it('falls back to re-reading the usage file where the kernel gives no threshold events (cgroup v2 files)', async (t) => {
  if (!nativeAvailable()) {
    t.skip('the native addon is not built here');
    return;
  }
  // A copy of the v2 fixture with a 256 MiB limit and 40 MiB inactive_file. Plain files stand in
  // for cgroupfs: the thread re-reads memory.current through its kept-open fd.
  const tmp = await tempDir(t);
  await cp(fileURLToPath(new URL('../../test/fixtures/cgroup/v2', import.meta.url)), tmp, {
    recursive: true,
  });
  const ctr = path.join(tmp, 'sys/fs/cgroup/kubepods.slice/pod-a/ctr');
  const current = path.join(ctr, 'memory.current');
  await writeFile(path.join(ctr, 'memory.max'), `${256 * MiB}\n`);
  await writeFile(current, `${100 * MiB}\n`);
  const guard = new MemoryGuard({
    soft: 0.5,
    hard: 0.9,
    intervalMs: 60_000,
    reclaim: false,
    mallocTrim: false,
    dropCache: false,
    reader: { root: tmp, cgroupDir: ctr },
  });
  t.after(() => guard.close());
  for (let i = 0; i < 200 && guard.stats().wake === 'timer'; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(guard.stats().wake, 'poll');
  // Usage above soft but the working set (usage − 40 MiB) below it: no wake-up yet.
  await writeFile(current, `${150 * MiB}\n`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(guard.stats().samples, 0);
  const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
  await writeFile(current, `${170 * MiB}\n`);
  const [report] = await within(soft, 5000, "'soft' event");
  assert.equal(report.before.memory.workingSet, 130 * MiB);
  assert.equal(guard.stats().wakeups, 1);
});

it('uses only its timer with wake: false', async () => {
  const guard = new MemoryGuard({ wake: false, intervalMs: 60_000 });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(guard.stats().wake, 'timer');
  guard.close();
});

it('never keeps the process alive: a process with a running default guard exits by itself (live)', async (t) => {
  const cg = await createTestCgroup('wake-exit', 256 * MiB);
  if (typeof cg === 'string') {
    t.skip(cg);
    return;
  }
  const child = spawnInCgroup(
    cg.dir,
    `const { MemoryGuard } = await import(process.env.SLABIO_MEMORY);
     const guard = new MemoryGuard();
     for (let i = 0; i < 200 && guard.stats().wake === 'timer'; i++) await new Promise((r) => setTimeout(r, 5));
     process.stdout.write(guard.stats().wake);`,
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  t.after(async () => {
    clearTimeout(timer);
    await reap(child);
    await cg.remove();
  });
  const wake = await collect(child);
  assert.equal(wake, nativeAvailable() ? (cg.version === 1 ? 'eventfd' : 'poll') : 'timer');
});
