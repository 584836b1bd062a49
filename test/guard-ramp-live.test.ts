import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { nativeAvailable } from '../src/linux/index.js';
import { createTestCgroup, reap, spawnInCgroup } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

const LIMIT = 256 * MiB;

// Anonymous memory at 400 MiB/s in 4 MiB steps, one step per timer tick (1 ms) while the
// elapsed time calls for more: a late tick is caught up step by step, with the event loop free
// between steps as in a service that allocates per request. Each step is touched with fill() and
// kept. Bounded at 1 GiB and 5 s: past either the child says so and exits with 3.
const RAMP = `
const held = [];
const start = performance.now();
let bytes = 0;
const say = (s) => process.stdout.write(s + '\\n');
const tick = setInterval(() => {
  const due = ((performance.now() - start) / 1000) * 400 * 1024 * 1024;
  if (bytes + 4 * 1024 * 1024 <= due) {
    held.push(Buffer.alloc(4 * 1024 * 1024).fill(1));
    bytes += 4 * 1024 * 1024;
  }
  if (bytes >= 1024 * 1024 * 1024 || performance.now() - start > 5000) {
    clearInterval(tick);
    say('survived ' + bytes);
    process.exit(3);
  }
}, 1);
`;

const GUARDED = `
const { MemoryGuard } = await import(process.env.SLABIO_MEMORY);
const guard = new MemoryGuard({
  onHard: (s) => {
    process.stdout.write('hard ' + s.memory.workingSet + ' ' + guard.stats().wake + '\\n');
    process.exit(0);
  },
});
// Start the ramp once the guard has found its cgroup (the wake-up arms after one read).
for (let i = 0; i < 200 && guard.stats().wake === 'timer'; i++) await new Promise((r) => setTimeout(r, 5));
process.stdout.write('guard ' + guard.stats().wake + '\\n');
${RAMP}
`;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  oomKills: number;
}

async function run(code: string): Promise<Outcome> {
  const cg = await createTestCgroup(`ramp-${Math.random().toString(36).slice(2, 8)}`, LIMIT);
  if (typeof cg === 'string') throw new SkipError(cg);
  try {
    if (cg.version === 1) {
      // No swap may absorb the ramp: the limit has to bind on anonymous memory alone.
      await writeFile(path.join(cg.dir, 'memory.swappiness'), '0').catch(() => undefined);
    }
    const child = spawnInCgroup(cg.dir, code);
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      const [exitCode, signal] = (await once(child, 'close')) as [
        number | null,
        NodeJS.Signals | null,
      ];
      const events = await readFile(
        path.join(cg.dir, cg.version === 1 ? 'memory.oom_control' : 'memory.events'),
        'utf8',
      );
      const oomKills = Number(/oom_kill (\d+)/.exec(events)?.[1] ?? 0);
      return { code: exitCode, signal, out, err, oomKills };
    } finally {
      clearTimeout(timer);
      await reap(child);
    }
  } finally {
    await cg.remove();
  }
}

class SkipError extends Error {}

it('a default MemoryGuard gets onHard before the OOM killer under a 400 MiB/s ramp; without it the ramp is OOM-killed (live)', async (t) => {
  if (!nativeAvailable()) {
    t.skip('the native addon is not built here, so the guard has only its 1 s timer');
    return;
  }
  let control: Outcome;
  try {
    control = await run(RAMP);
  } catch (err) {
    if (err instanceof SkipError) {
      t.skip(err.message);
      return;
    }
    throw err;
  }
  assert.equal(
    control.signal,
    'SIGKILL',
    `the unguarded ramp should be OOM-killed: ${JSON.stringify(control)}`,
  );
  assert.ok(
    control.oomKills >= 1,
    `the kernel should count an OOM kill: ${JSON.stringify(control)}`,
  );

  // At 400 MiB/s there are 32 ms between hard and the limit, so a machine loaded by other work
  // can delay the guard's process past it. Up to three tries: with the 1 s timer alone (the
  // behaviour before the wake-up) every try is OOM-killed, so this still fails without it.
  let guarded = await run(GUARDED);
  for (let attempt = 2; attempt <= 3 && guarded.signal !== null; attempt++) {
    t.diagnostic(`guarded try ${attempt - 1} was killed (${guarded.signal}); trying again`);
    guarded = await run(GUARDED);
  }
  assert.equal(guarded.signal, null, `the guarded ramp was killed: ${JSON.stringify(guarded)}`);
  assert.equal(
    guarded.code,
    0,
    `the guarded ramp should exit from onHard: ${JSON.stringify(guarded)}`,
  );
  assert.equal(guarded.oomKills, 0);
  const hard = /^hard (\d+) (\w+)$/m.exec(guarded.out);
  assert.ok(hard, `onHard should have run: ${guarded.out}`);
  assert.ok(Number(hard[1]) >= 0.95 * LIMIT, `onHard at working set ${hard[1]}`);
  t.diagnostic(
    `guarded: onHard at ${(Number(hard[1]) / MiB).toFixed(1)} MiB via ${hard[2]}; control: ${control.signal}, oom_kill ${control.oomKills}`,
  );
});
