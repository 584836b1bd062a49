// cgroup v2 memory.high: read along the ancestors, the ceiling the guard acts on, the kernel's
// throttle counter in the guard, slabio/prom and `slabio inspect`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import {
  type GuardThrottle,
  MemoryGuard,
  type MemoryGuardOptions,
  readCgroupMemory,
} from '../src/memory/index.js';
import { registerSlabioMetrics } from '../src/prom.js';
import { fixture, overlay } from './cgroup-helpers.js';
import { manualGuard } from './guard-helpers.js';
import { MiB } from './helpers.js';

const ROOT = fixture('v2-high');
const POD = `${ROOT}/sys/fs/cgroup/kubepods.slice/pod-q`;
const CTR = `${POD}/ctr`;
const INACTIVE = 40 * MiB; // inactive_file in the fixture's memory.stat
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const events = (high: number) =>
  `low 0\nhigh ${high}\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n`;

describe('readCgroupMemory: cgroup v2 memory.high', () => {
  it('reports memory.high below memory.max, the ceiling and the throttle counter', async () => {
    const m = await readCgroupMemory({ root: ROOT });
    assert.equal(m.limit, 384 * MiB);
    assert.equal(m.high, 256 * MiB);
    assert.equal(m.ceiling, 256 * MiB);
    assert.equal(m.highEvents, 17, 'memory.events high of the group that sets memory.high');
    assert.equal(m.events?.high, 17);
    assert.equal(m.workingSet, 152 * MiB);
    assert.equal(m.headroom, 232 * MiB, 'headroom stays the room before the OOM kill');
  });

  it('memory.high equal to memory.max: both reported, ceiling the same', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({ 'ctr/memory.high': `${384 * MiB}\n` }),
    });
    assert.equal(m.high, 384 * MiB);
    assert.equal(m.ceiling, 384 * MiB);
  });

  it('memory.high above memory.max: reported as set, the limit is the ceiling', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({ 'ctr/memory.high': `${512 * MiB}\n` }),
    });
    assert.equal(m.high, 512 * MiB);
    assert.equal(m.ceiling, 384 * MiB);
  });

  it('"max" everywhere (or no file): high null, the ceiling is the limit', async () => {
    for (const text of ['max\n', null]) {
      const m = await readCgroupMemory({
        root: ROOT,
        readFile: overlay({ 'ctr/memory.high': text }),
      });
      assert.equal(m.high, null, String(text));
      assert.equal(m.ceiling, 384 * MiB);
      assert.equal(m.highEvents, 17, 'the own counter (descendants may set memory.high)');
    }
  });

  it('memory.high set on an ancestor only: the lowest along the path, its counter', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({
        'ctr/memory.high': 'max\n',
        'pod-q/memory.high': `${300 * MiB}\n`,
        'kubepods.slice/memory.high': `${350 * MiB}\n`,
      }),
    });
    assert.equal(m.high, 300 * MiB);
    assert.equal(m.ceiling, 300 * MiB);
    assert.equal(m.events?.high, 17, 'the own memory.events is still reported as it is');
    assert.equal(m.highEvents, 23, "throttling by pod-q's memory.high is counted in pod-q");
  });

  it('a tie between the group and an ancestor: the group owns the throttling', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({ 'pod-q/memory.high': `${256 * MiB}\n` }),
    });
    assert.equal(m.high, 256 * MiB);
    assert.equal(m.highEvents, 17);
  });

  it('an ancestor with a lower memory.high and no memory.events: counter null', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({ 'pod-q/memory.high': `${128 * MiB}\n`, 'pod-q/memory.events': null }),
    });
    assert.equal(m.high, 128 * MiB);
    assert.equal(m.highEvents, null);
  });

  it('memory.high above memory.max of an ancestor: the ancestor limit is the ceiling', async () => {
    const m = await readCgroupMemory({
      root: ROOT,
      readFile: overlay({ 'pod-q/memory.max': `${200 * MiB}\n` }),
    });
    assert.equal(m.limit, 200 * MiB);
    assert.equal(m.high, 256 * MiB);
    assert.equal(m.ceiling, 200 * MiB);
  });

  it('a namespaced group (cgroupDir) sees only its own memory.high', async () => {
    const m = await readCgroupMemory({
      cgroupDir: CTR,
      readFile: overlay({ 'ctr/memory.high': 'max\n', 'pod-q/memory.high': `${64 * MiB}\n` }),
    });
    assert.equal(m.high, null);
  });

  it('memory.high at or above host memory counts as unset', async () => {
    const m = await readCgroupMemory({ root: ROOT, hostMemory: 256 * MiB });
    assert.equal(m.high, null);
    assert.equal(m.limit, null);
    assert.equal(m.ceiling, null);
  });

  it('refuses a malformed memory.high with the kernel-format error naming the file', async () => {
    for (const bad of ['-1\n', '256M\n', ' 268435456\n', 'max \n', '0x100\n', '']) {
      await assert.rejects(
        readCgroupMemory({ root: ROOT, readFile: overlay({ 'pod-q/memory.high': bad }) }),
        (err: unknown) =>
          err instanceof Error &&
          (err as { code?: string }).code === 'ERR_SLABIO_CGROUP' &&
          /pod-q\/memory\.high/.test((err as { file?: string }).file ?? ''),
        JSON.stringify(bad),
      );
    }
  });

  it('cgroup v1 reports no memory.high: soft_limit_in_bytes is no throttle', async () => {
    const m = await readCgroupMemory({ root: fixture('v1') });
    assert.equal(m.high, null);
    assert.equal(m.ceiling, m.limit);
    assert.equal(m.highEvents, null);
  });
});

/** A guard over the v2-high fixture: the test sets the working set and the throttle counter. */
function scripted(options: MemoryGuardOptions = {}) {
  const box = { wsMiB: 0, high: 17 };
  const guard = manualGuard({
    reader: {
      root: ROOT,
      readFile: async (f) => {
        if (f.endsWith('ctr/memory.current')) return String(box.wsMiB * MiB + INACTIVE);
        if (f.endsWith('ctr/memory.events')) return events(box.high);
        return readFile(f, 'utf8');
      },
    },
    ...options,
  });
  return { guard, box };
}

describe('MemoryGuard on the memory.high ceiling', () => {
  it('takes soft and hard as fractions of memory.high, not of memory.max', async () => {
    const { guard, box } = scripted({ soft: 0.8, hard: 0.95, hysteresis: 0 });
    const states: string[] = [];
    // ceiling 256 MiB: soft at 204.8 MiB, hard at 243.2 MiB; memory.max is 384 MiB.
    for (const ws of [204, 205, 243, 244]) {
      box.wsMiB = ws;
      const s = await guard.sample();
      assert.equal(s.baseBytes, 256 * MiB);
      assert.equal(s.softBytes, Math.round(0.8 * 256 * MiB));
      assert.equal(s.hardBytes, Math.round(0.95 * 256 * MiB));
      states.push(s.state);
    }
    assert.deepEqual(states, ['ok', 'soft', 'soft', 'hard']);
    assert.equal(guard.ready(), false);
  });

  it("hardBase: 'limit' keeps hard on memory.max while soft follows memory.high", async () => {
    const { guard, box } = scripted({ soft: 0.8, hard: 0.95, hardBase: 'limit' });
    box.wsMiB = 300; // above memory.high, below 0.95 × 384 MiB = 364.8 MiB
    const s = await guard.sample();
    assert.equal(s.softBytes, Math.round(0.8 * 256 * MiB));
    assert.equal(s.hardBytes, Math.round(0.95 * 384 * MiB));
    assert.equal(s.state, 'soft');
    box.wsMiB = 365;
    assert.equal((await guard.sample()).state, 'hard');
  });

  it('rejects a bad hardBase naming the option', () => {
    assert.throws(
      () => new MemoryGuard({ intervalMs: 0, hardBase: 'max' as 'limit' }),
      (err: unknown) => err instanceof RangeError && /options\.hardBase.*max/.test(err.message),
    );
  });

  it("counts memory.high throttle events: a baseline first, then 'throttled' per increase", async () => {
    const { guard, box } = scripted();
    const seen: GuardThrottle[] = [];
    guard.on('throttled', (t) => seen.push(t));
    box.wsMiB = 100;
    assert.equal((await guard.sample()).newHighEvents, 0, 'the first reading is a baseline');
    assert.equal(guard.stats().highEvents, 17);
    box.high = 20;
    assert.equal((await guard.sample()).newHighEvents, 3);
    assert.equal((await guard.sample()).newHighEvents, 0, 'unchanged');
    box.high = 4; // counter went down: a new baseline, not an increase
    assert.equal((await guard.sample()).newHighEvents, 0);
    box.high = 6;
    await guard.sample();
    assert.deepEqual(
      seen.map((t) => [t.highEvents, t.increase, t.high]),
      [
        [20, 3, 256 * MiB],
        [6, 2, 256 * MiB],
      ],
    );
    assert.equal(seen[0]?.workingSet, 100 * MiB);
    const st = guard.stats();
    assert.equal(st.highEvents, 6);
    assert.equal(st.newHighEvents, 5);
  });
});

describe('memory.high in slabio/prom and slabio inspect', () => {
  it('exports memory.high, the ceiling and a throttle counter', async (t) => {
    const registry = new Registry();
    const box = { high: 17 };
    const metrics = registerSlabioMetrics({
      registry,
      cacheMs: 0,
      reader: {
        root: ROOT,
        readFile: async (f) =>
          f.endsWith('ctr/memory.events') ? events(box.high) : readFile(f, 'utf8'),
      },
    });
    t.after(() => metrics.unregister());
    const value = async (series: string) => {
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line !== undefined, `no series ${series}`);
      return Number(line.slice(series.length + 1));
    };
    assert.equal(await value('slabio_memory_high_bytes'), 256 * MiB);
    assert.equal(await value('slabio_memory_ceiling_bytes'), 256 * MiB);
    assert.equal(await value('slabio_memory_limit_bytes'), 384 * MiB);
    assert.equal(await value('slabio_memory_high_events_total'), 17);
    box.high = 30;
    assert.equal(await value('slabio_memory_high_events_total'), 30);
    assert.match(await registry.metrics(), /# TYPE slabio_memory_high_events_total counter/);
  });

  it('slabio inspect shows memory.high, the ceiling and the throttle count', async () => {
    const run = promisify(execFile);
    const human = await run(process.execPath, [CLI, 'inspect', '--cgroup-dir', CTR]);
    assert.match(human.stdout, /memory\.high\s+256\.0 MiB\s+the kernel throttles above it/);
    assert.match(human.stdout, /ceiling\s+256\.0 MiB\s+\(= memory\.high; working set at 59\.4%/);
    assert.match(human.stdout, /throttled\s+17 times over memory\.high/);
    assert.match(human.stdout, /throttled this cgroup 17 time\(s\) over memory\.high/);
    const json = await run(process.execPath, [CLI, 'inspect', '--json', '--cgroup-dir', CTR]);
    const report = JSON.parse(json.stdout) as {
      memory: { high: number; ceiling: number; highEvents: number };
    };
    assert.deepEqual(
      [report.memory.high, report.memory.ceiling, report.memory.highEvents],
      [256 * MiB, 256 * MiB, 17],
    );
  });

  it('slabio watch shows memory.high and the throttle count', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [
      CLI,
      'watch',
      '--count',
      '1',
      '--cgroup-dir',
      CTR,
    ]);
    assert.match(stdout, /working set 152\.0 MiB of 384\.0 MiB/);
    assert.match(stdout, /memory\.high 256\.0 MiB {2}throttled 17/);
  });
});
