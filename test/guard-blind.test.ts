// A MemoryGuard whose cgroup cannot be read is blind: it says so (an event, one coded warning,
// stats), never crashes the process, keeps its last readiness, and picks up again when reads
// succeed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import { CgroupError } from '../src/errors.js';
import {
  type GuardBlindness,
  type GuardUnblind,
  MemoryGuard,
  type MemoryGuardOptions,
} from '../src/memory/index.js';
import { fixture } from './cgroup-helpers.js';
import { manualGuard } from './guard-helpers.js';
import { MiB, tempDir } from './helpers.js';

const ROOT = fixture('v2'); // limit 256 MiB: soft 0.5 = 128 MiB, hard 0.8 ≈ 205 MiB
const INACTIVE = 40 * MiB; // inactive_file in the fixture's memory.stat

type Mode = 'good' | 'eacces' | 'vanished' | 'malformed';

/**
 * A guard over the v2 fixture whose memory.current the test controls: a working set in MiB, or
 * a failure. `reads` counts reads of memory.current; `waitReads(n)` resolves once n happened.
 */
function guarded(options: MemoryGuardOptions = {}) {
  const box: { mode: Mode; wsMiB: number } = { mode: 'good', wsMiB: 10 };
  let reads = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const trims = { n: 0 };
  const guard = manualGuard({
    soft: 0.5,
    hard: 0.8,
    hysteresis: 0.1,
    pools: [{ trim: () => ++trims.n }],
    reader: {
      root: ROOT,
      readFile: async (f) => {
        if (!f.endsWith('memory.current')) return readFile(f, 'utf8');
        reads++;
        for (const w of waiters.filter((x) => reads >= x.n)) w.resolve();
        if (box.mode === 'eacces') {
          throw Object.assign(new Error(`EACCES: permission denied, open '${f}'`), {
            code: 'EACCES',
          });
        }
        if (box.mode === 'vanished') {
          throw Object.assign(new Error(`ENOENT: no such file, open '${f}'`), { code: 'ENOENT' });
        }
        if (box.mode === 'malformed') return `1${'0'.repeat(400)}\n`;
        return `${box.wsMiB * MiB + INACTIVE}\n`;
      },
    },
    ...options,
  });
  const waitReads = (n: number) =>
    new Promise<void>((resolve) => {
      if (reads >= n) resolve();
      else waiters.push({ n, resolve });
    });
  return { guard, box, trims, waitReads, reads: () => reads };
}

/** Collect SLABIO_GUARD_BLIND warnings for the rest of the test. */
function blindWarnings(t: TestContext): Error[] {
  const seen: Error[] = [];
  const on = (w: Error) => {
    if ((w as { code?: string }).code === 'SLABIO_GUARD_BLIND') seen.push(w);
  };
  process.on('warning', on);
  t.after(() => process.off('warning', on));
  return seen;
}

// process.emitWarning delivers 'warning' on the next tick.
const settle = () => new Promise((r) => setImmediate(r));

describe('MemoryGuard with an unreadable cgroup, sampling on its timer', () => {
  it('unreadable from the start without an "error" listener: no crash, one warning, stats say blind, ready() stays true', async (t) => {
    const warnings = blindWarnings(t);
    const { guard, box, trims, waitReads } = guarded({ intervalMs: 1, unref: false });
    t.after(() => guard.close());
    box.mode = 'eacces';
    await waitReads(8);
    guard.close();
    await settle();
    const s = guard.stats();
    assert.equal(s.samples, 0);
    assert.ok(s.failedSamples >= 7, `failed ${s.failedSamples}`);
    assert.equal(s.blind, true);
    assert.equal(typeof s.blindSince, 'number');
    assert.ok(s.lastError instanceof CgroupError);
    assert.match((s.lastError as Error).message, /memory\.current: cannot read \(EACCES\)/);
    assert.equal(s.last, null);
    assert.equal(s.state, 'ok');
    assert.equal(trims.n, 0, 'no soft action without a reading');
    assert.equal(warnings.length, 1, 'exactly one warning for many failed samples');
    assert.equal(warnings[0]?.name, 'SlabioWarning');
    assert.match(warnings[0]?.message ?? '', /cannot read the cgroup \(.*EACCES.*\).*blind/);
  });

  it('a cgroup directory without a memory controller is blind the same way', async (t) => {
    const dir = await tempDir(t);
    const warnings = blindWarnings(t);
    let reads = 0;
    let done: () => void = () => {};
    const enough = new Promise<void>((r) => {
      done = r;
    });
    const guard = new MemoryGuard({
      intervalMs: 1,
      unref: false,
      reader: {
        cgroupDir: dir,
        readFile: (f, signal) => {
          if (++reads >= 6) done();
          return readFile(f, signal === undefined ? 'utf8' : { encoding: 'utf8', signal });
        },
      },
    });
    t.after(() => guard.close());
    await enough;
    guard.close();
    await settle();
    const s = guard.stats();
    assert.equal(s.samples, 0);
    assert.equal(s.blind, true);
    assert.ok(s.lastError instanceof CgroupError);
    assert.match((s.lastError as CgroupError).file, /memory\.usage_in_bytes$/);
    assert.equal(guard.ready(), false, 'closed');
    assert.equal(warnings.length, 1);
  });

  it('with an "error" listener: every failure is emitted there and nothing is warned', async (t) => {
    const warnings = blindWarnings(t);
    const { guard, box } = guarded({ intervalMs: 1, unref: false });
    t.after(() => guard.close());
    box.mode = 'malformed';
    const errors: unknown[] = [];
    const got = new Promise<void>((resolve) => {
      guard.on('error', (err) => {
        errors.push(err);
        if (errors.length === 3) resolve();
      });
    });
    await got;
    guard.close();
    await settle();
    assert.ok(errors.every((e) => e instanceof CgroupError));
    assert.match(
      String(errors[0]),
      /memory\.current: malformed number "1000.*… \(401 characters\)/,
    );
    assert.equal(warnings.length, 0);
    assert.ok(guard.stats().failedSamples >= 3);
  });

  it('with a "blind" listener only: one "blind" event for the streak and no warning', async (t) => {
    const warnings = blindWarnings(t);
    const { guard, box, waitReads } = guarded({ intervalMs: 1, unref: false });
    t.after(() => guard.close());
    const blind: GuardBlindness[] = [];
    guard.on('blind', (b) => blind.push(b));
    box.mode = 'vanished';
    await waitReads(6);
    guard.close();
    await settle();
    assert.equal(blind.length, 1);
    assert.equal(blind[0]?.failedSamples, 1);
    assert.ok(blind[0]?.error instanceof CgroupError);
    assert.match(String(blind[0]?.error), /memory\.current: missing/);
    assert.equal(warnings.length, 0);
  });

  it('turns blind after good samples, recovers with "unblind", and warns only once for its life', async (t) => {
    const warnings = blindWarnings(t);
    const { guard, box, waitReads, reads } = guarded({ intervalMs: 1, unref: false });
    t.after(() => guard.close());
    const order: string[] = [];
    guard.on('sample', () => order.push('sample'));
    guard.on('unblind', (u) => order.push(`unblind ${u.failedSamples > 0}`));
    await waitReads(3);
    assert.ok(guard.stats().samples >= 2);
    for (let round = 0; round < 2; round++) {
      box.mode = 'eacces';
      await waitReads(reads() + 4);
      assert.equal(guard.stats().blind, true);
      box.mode = 'good';
      await waitReads(reads() + 3);
      assert.equal(guard.stats().blind, false);
    }
    guard.close();
    await settle();
    assert.equal(order.filter((e) => e.startsWith('unblind')).length, 2);
    const i = order.indexOf('unblind true');
    assert.equal(order[i + 1], 'sample', "'unblind' comes right before the good sample");
    assert.equal(warnings.length, 1, 'one warning for two blind streaks');
    assert.ok(guard.stats().lastError instanceof CgroupError, 'kept after recovery');
    assert.equal(guard.stats().blindSince, null);
  });
});

describe('MemoryGuard with an unreadable cgroup, sampled by the caller', () => {
  it('rejects sample(), keeps state and readiness of the last good sample, then resumes', async () => {
    const { guard, box } = guarded();
    const blind: GuardBlindness[] = [];
    const unblind: GuardUnblind[] = [];
    guard.on('blind', (b) => blind.push(b));
    guard.on('unblind', (u) => unblind.push(u));

    box.wsMiB = 210; // hard
    assert.equal((await guard.sample()).state, 'hard');
    assert.equal(guard.ready(), false);
    for (const mode of ['eacces', 'vanished', 'malformed'] as const) {
      box.mode = mode;
      await assert.rejects(guard.sample(), CgroupError);
    }
    let s = guard.stats();
    assert.deepEqual([s.state, s.samples, s.failedSamples, s.blind], ['hard', 1, 3, true]);
    assert.equal(guard.ready(), false, 'blindness does not lift a hard state it cannot see');
    assert.equal(blind.length, 1);
    assert.equal(s.blindSince, blind[0]?.since);

    box.mode = 'good';
    box.wsMiB = 10;
    const good = await guard.sample();
    assert.equal(good.state, 'ok');
    assert.equal(guard.ready(), true);
    assert.equal(unblind.length, 1);
    assert.equal(unblind[0]?.failedSamples, 3);
    assert.equal(unblind[0]?.since, blind[0]?.since);
    assert.equal(unblind[0]?.sample, good);
    s = guard.stats();
    assert.deepEqual([s.samples, s.failedSamples, s.blind, s.blindSince], [2, 3, false, null]);
  });

  it('is ready while blind from the start and after an ok sample (fails open)', async () => {
    const { guard, box } = guarded();
    box.mode = 'eacces';
    await assert.rejects(guard.sample(), CgroupError);
    assert.equal(guard.ready(), true);
    box.mode = 'good';
    box.wsMiB = 140; // soft
    await guard.sample();
    box.mode = 'malformed';
    await assert.rejects(guard.sample(), CgroupError);
    assert.equal(guard.ready(), true);
    assert.equal(guard.state, 'soft');
  });

  it('does not warn for failures the caller sees as rejections', async (t) => {
    const warnings = blindWarnings(t);
    const { guard, box } = guarded();
    box.mode = 'eacces';
    for (let i = 0; i < 3; i++) await assert.rejects(guard.sample(), CgroupError);
    await settle();
    assert.equal(warnings.length, 0);
    assert.equal(guard.stats().failedSamples, 3);
  });
});
