import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cp, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CgroupError } from '../src/errors.js';
import {
  type GuardSample,
  MemoryGuard,
  type MemoryGuardOptions,
  PageCacheRegistry,
  type ReliefReport,
} from '../src/memory/index.js';
import { BufferPool } from '../src/pool/index.js';
import { manualGuard } from './guard-helpers.js';
import { MiB, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../test/fixtures/cgroup/v2', import.meta.url));
const CTR = fileURLToPath(
  new URL('../../test/fixtures/cgroup/v2/sys/fs/cgroup/kubepods.slice/pod-a/ctr', import.meta.url),
);
const INACTIVE = 40 * MiB; // inactive_file in the fixture's memory.stat

/** A guard over the v2 fixture whose working set the test sets (in MiB) before each sample. */
function scripted(options: MemoryGuardOptions = {}, { noLimit = false } = {}) {
  const box = { wsMiB: 0 };
  const guard = manualGuard({
    soft: 0.5,
    hard: 0.8,
    hysteresis: 0.1,
    ...(noLimit ? {} : { limit: 100 * MiB }),
    reader: {
      cgroupDir: CTR,
      root: ROOT,
      readFile: async (f) =>
        f.endsWith('memory.current') ? String(box.wsMiB * MiB + INACTIVE) : readFile(f, 'utf8'),
    },
    ...options,
  });
  const step = async (wsMiB: number) => {
    box.wsMiB = wsMiB;
    return (await guard.sample()).state;
  };
  return { guard, step };
}

describe('MemoryGuard thresholds and hysteresis', () => {
  it('walks ok → soft → ok → hard → soft → hard → ok without flapping, onHard once per crossing', async () => {
    const hard: GuardSample[] = [];
    const { guard, step } = scripted({ onHard: (s) => hard.push(s) });
    const events: string[] = [];
    for (const e of ['soft', 'hard', 'recovered'] as const) guard.on(e, () => events.push(e));

    const states = [];
    for (const ws of [10, 49, 50, 45, 41, 39, 85, 90, 71, 65, 85, 5]) states.push(await step(ws));
    assert.deepEqual(states, [
      'ok', // 10
      'ok', // 49: one byte-ish below soft (50 MiB)
      'soft', // 50: exactly at soft
      'soft', // 45: inside the 10 MiB hysteresis band
      'soft', // 41
      'ok', // 39: below soft − hysteresis
      'hard', // 85
      'hard', // 90: still hard, no second onHard
      'hard', // 71: inside the band below hard (70..80)
      'soft', // 65
      'hard', // 85: a new crossing
      'ok', // 5
    ]);
    assert.equal(hard.length, 2);
    assert.equal(hard[0]?.hardBytes, 80 * MiB);
    // 'soft' marks each round of soft actions: every sample at/above soft with cooldownMs 0.
    assert.deepEqual(events, [
      'soft', // 50
      'recovered', // 39
      'hard', // 85
      'soft', // 85
      'soft', // 90
      'soft', // 71
      'recovered', // 65: hard → soft
      'soft', // 65
      'hard', // 85
      'soft', // 85
      'recovered', // 5
    ]);
    const st = guard.stats();
    assert.equal(st.hardEvents, 2);
    assert.equal(st.recoveries, 3);
    assert.equal(st.samples, 12);
    assert.equal(st.last?.memory.workingSet, 5 * MiB);
  });

  it('leaves hard only below hard − hysteresis, with a "recovered" event naming from and to', async () => {
    let onHard = 0;
    const { guard, step } = scripted({ onHard: () => onHard++ });
    const recoveries: Array<[string, string, string]> = [];
    guard.on('recovered', (r) => recoveries.push([r.from, r.to, r.state]));
    const seen: Array<[number, string, boolean, number]> = [];
    for (const ws of [85, 71, 70, 69, 85, 75, 60, 39, 85, 5]) {
      const state = await step(ws);
      seen.push([ws, state, guard.ready(), onHard]);
    }
    assert.deepEqual(seen, [
      [85, 'hard', false, 1],
      [71, 'hard', false, 1], // inside the band 70..80: still hard, still not ready
      [70, 'hard', false, 1], // exactly hard − hysteresis is not below it
      [69, 'soft', true, 1], // below: one step down
      [85, 'hard', false, 2], // a new crossing
      [75, 'hard', false, 2],
      [60, 'soft', true, 2],
      [39, 'ok', true, 2], // below soft − hysteresis
      [85, 'hard', false, 3],
      [5, 'ok', true, 3], // hard → ok in one sample: one event
    ]);
    assert.deepEqual(recoveries, [
      ['hard', 'soft', 'soft'],
      ['hard', 'soft', 'soft'],
      ['soft', 'ok', 'ok'],
      ['hard', 'ok', 'ok'],
    ]);
    assert.equal(guard.stats().recoveries, 4);
  });

  it('ready() is false only while hard, and after close()', async () => {
    const { guard, step } = scripted();
    await step(60);
    assert.equal(guard.ready(), true);
    await step(80);
    assert.equal(guard.ready(), false);
    await step(10);
    assert.equal(guard.ready(), true);
    guard.close();
    guard.close();
    assert.equal(guard.ready(), false);
  });

  it('takes byte thresholds as bytes and fractions of the host when there is no limit', async () => {
    const { guard, step } = scripted(
      { soft: 20 * MiB, hard: 0.5, hysteresis: 0 },
      { noLimit: true },
    );
    assert.equal(await step(20), 'soft');
    const s = guard.stats().last;
    assert.equal(s?.softBytes, 20 * MiB);
    assert.equal(s?.baseBytes, 8 * 1024 * MiB, 'fixture MemTotal');
    assert.equal(s?.hardBytes, 4 * 1024 * MiB);
  });

  it('repeats soft actions at most once per cooldown', async () => {
    const reports: ReliefReport[] = [];
    const { step } = scripted({ cooldownMs: 60_000, onSoft: (r) => reports.push(r) });
    await step(60);
    await step(70);
    await step(60);
    assert.equal(reports.length, 1);
  });

  it('rejects bad options with RangeErrors naming them', () => {
    assert.throws(() => new MemoryGuard({ soft: 0 }), /options\.soft .* got 0/);
    assert.throws(() => new MemoryGuard({ hard: Number.NaN }), /options\.hard .* got NaN/);
    assert.throws(() => new MemoryGuard({ hysteresis: -1 }), /options\.hysteresis .* got -1/);
    assert.throws(
      () => new MemoryGuard({ soft: 0.9, hard: 0.9 }),
      /options\.soft \(0\.9\) must be below options\.hard/,
    );
    assert.throws(() => new MemoryGuard({ intervalMs: -5 }), /options\.intervalMs .* got -5/);
    assert.throws(() => new MemoryGuard({ limit: 0, intervalMs: 0 }), /options\.limit .* got 0/);
    // Mixed kinds cannot be ordered before the limit is known, so they are accepted.
    new MemoryGuard({ soft: 64 * MiB, hard: 0.9, intervalMs: 0 }).close();
  });

  it('rejects sample() with ERR_SLABIO_CGROUP when the files are broken', async () => {
    const guard = new MemoryGuard({
      intervalMs: 0,
      reader: { cgroupDir: CTR, readFile: async () => 'garbage' },
    });
    await assert.rejects(guard.sample(), CgroupError);
    assert.equal(guard.stats().samples, 0);
  });

  it('passes errors thrown by onHard through sample()', async () => {
    const boom = new Error('onHard failed');
    const { step } = scripted({
      onHard: () => {
        throw boom;
      },
    });
    await assert.rejects(step(90), (e) => e === boom);
  });
});

describe('MemoryGuard soft actions', () => {
  it('trims real pools, calls mallocTrim, drops tracked files and forgets vanished ones', async () => {
    const pool = new BufferPool({ sizeClasses: [64 * 1024], maxBytes: 8 * MiB, idleTrimMs: 0 });
    for (let i = 0; i < 4; i++) pool.acquire(60 * 1024).release();
    const reserved = pool.stats().reservedBytes;
    assert.ok(reserved > 0);

    const registry = new PageCacheRegistry();
    registry.track('/data/a.bin');
    registry.track('/data/gone.bin');
    const dropped: string[] = [];
    let trims = 0;
    const { step, guard } = scripted({
      pools: [pool],
      registry,
      mallocTrim: () => ++trims > 0,
      dropCache: async (f) => {
        if (f.endsWith('gone.bin')) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        dropped.push(f);
      },
    });
    const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
    await step(55);
    const [report] = await soft;
    assert.equal(report.trimmedBytes, reserved);
    assert.equal(pool.stats().reservedBytes, 0);
    assert.equal(report.mallocTrimmed, true);
    assert.deepEqual(dropped, ['/data/a.bin']);
    assert.equal(report.droppedFiles, 1);
    assert.equal(report.dropErrors, 0);
    assert.deepEqual(registry.paths(), ['/data/a.bin']);
    assert.equal(report.after.workingSet, 55 * MiB);
    const st = guard.stats();
    assert.equal(st.trimmedBytes, reserved);
    assert.equal(st.mallocTrims, 1);
    assert.equal(st.pageCacheDrops, 1);
    pool.close();
  });

  it('keeps going when one action fails and reports the error', async () => {
    const err = new Error('EIO');
    const registry = new PageCacheRegistry();
    registry.track('/data/x');
    const { step, guard } = scripted({
      registry,
      pools: [
        { trim: () => 1 },
        {
          trim: () => {
            throw err;
          },
        },
        { trim: () => 2 },
      ],
      dropCache: async () => {
        throw err;
      },
    });
    const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
    await step(60);
    const [r] = await soft;
    assert.equal(r.trimmedBytes, 3);
    assert.deepEqual(r.errors, [err, err]);
    assert.equal(r.dropErrors, 1);
    assert.deepEqual(registry.paths(), ['/data/x'], 'a failed drop keeps the path');
  });

  it('writes memory.reclaim on v2 and turns it off quietly, once, when it cannot', async (t) => {
    const dir = await tempDir(t);
    await cp(CTR, dir, { recursive: true });

    // A writable memory.reclaim (a plain file in a temp copy of the group).
    const usage = { ws: 60 };
    const g2 = manualGuard({
      soft: 0.5,
      hard: 0.8,
      hysteresis: 0.1,
      limit: 100 * MiB,
      reclaim: true,
      reader: {
        cgroupDir: dir,
        readFile: async (f) =>
          f.endsWith('memory.current') ? String(usage.ws * MiB + INACTIVE) : readFile(f, 'utf8'),
      },
    });
    await g2.sample();
    // 60 MiB working set, target soft − hysteresis = 40 MiB: ask for 20 MiB.
    assert.equal(await readFile(path.join(dir, 'memory.reclaim'), 'utf8'), String(20 * MiB));
    assert.equal(g2.stats().reclaimWrites, 1);

    // Unwritable: memory.reclaim points into a missing directory, as on a kernel without it.
    await rm(path.join(dir, 'memory.reclaim'));
    await symlink(path.join(dir, 'missing', 'memory.reclaim'), path.join(dir, 'memory.reclaim'));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const reports: ReliefReport[] = [];
    g2.on('soft', (r) => reports.push(r));
    await g2.sample();
    await g2.sample();
    await new Promise((r) => setImmediate(r));
    assert.equal(g2.stats().reclaimUnavailable, 'ENOENT');
    assert.deepEqual(
      reports.map((r) => r.errors.length),
      [0, 0],
    );
    assert.deepEqual(
      reports.map((r) => r.reclaimRequested),
      [0, 0],
    );
    assert.ok(
      warnings.filter((w) => (w as { code?: string }).code === 'SLABIO_RECLAIM_UNAVAILABLE')
        .length <= 1,
    );
  });
});

describe('MemoryGuard timer and lifecycle', () => {
  it('samples on its own timer and stops when the signal aborts', async () => {
    const ac = new AbortController();
    const { guard } = scripted({ intervalMs: 1, unref: false, signal: ac.signal });
    const [s] = (await once(guard, 'sample')) as [GuardSample];
    assert.equal(s.state, 'ok');
    ac.abort();
    const n = guard.stats().samples;
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(guard.stats().samples <= n + 1, 'at most the sample already in flight completes');
    assert.equal(guard.ready(), false);
  });

  it('emits timer errors as "error" events', async () => {
    const guard = new MemoryGuard({
      intervalMs: 1,
      unref: false,
      reader: { cgroupDir: CTR, readFile: async () => 'x' },
    });
    const [err] = await once(guard, 'error');
    guard.close();
    assert.ok(err instanceof CgroupError);
  });

  it('does not start when the signal is already aborted', async () => {
    const { guard } = scripted({ intervalMs: 1, signal: AbortSignal.abort() });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(guard.stats().samples, 0);
  });
});

describe('PageCacheRegistry', () => {
  it('keeps the most recently touched paths up to maxEntries', () => {
    const r = new PageCacheRegistry({ maxEntries: 2 });
    r.track('a');
    r.track('b');
    r.track('a');
    r.track('c');
    assert.deepEqual(r.paths(), [path.resolve('a'), path.resolve('c')]);
    assert.equal(r.untrack('a'), true);
    assert.equal(r.untrack('a'), false);
    assert.equal(r.size, 1);
    assert.throws(() => new PageCacheRegistry({ maxEntries: 0 }), /maxEntries .* got 0/);
  });
});
