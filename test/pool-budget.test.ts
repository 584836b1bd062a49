// The default pool budget says how it was chosen: a quarter of the container limit, raised to the
// largest size class under a small limit, capped at 1 GiB without a limit; the default pool logs it.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { BufferPool, DEFAULT_BUDGET_CAP, defaultBudget, defaultMaxBytes } from '../src/index.js';
import { collect, createTestCgroup, reap, spawnInCgroup } from './cgroup-helpers.js';

const MiB = 1 << 20;
const index = new URL('../src/index.js', import.meta.url).href;

// Reports the budget, the default pool's and a plain pool's maxBytes; stderr has the debug line.
const REPORT = `
const m = await import(${JSON.stringify(index)});
const pool = new m.BufferPool();
console.log(JSON.stringify({ budget: m.defaultBudget(), pool: pool.maxBytes,
  small: m.defaultBudget(4 << 20), defaultPool: m.getDefaultPool().maxBytes }));
pool.close();
`;

interface Report {
  budget: { maxBytes: number; source: string; memoryBytes: number; rule: string };
  small: { maxBytes: number; rule: string };
  pool: number;
  defaultPool: number;
}

async function inCgroup(limit: number): Promise<{ r: Report; stderr: string } | string> {
  const group = await createTestCgroup(`budget-${limit}`, limit);
  if (typeof group === 'string') return group;
  const child = spawnInCgroup(group.dir, REPORT, { NODE_DEBUG: 'slabio' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const out = await collect(child);
    return { r: JSON.parse(out) as Report, stderr };
  } finally {
    await reap(child);
    await group.remove();
  }
}

test('under a 256 MiB limit: a quarter of the limit, from the cgroup, logged by the default pool', async (t) => {
  const got = await inCgroup(256 * MiB);
  if (typeof got === 'string') return t.skip(got);
  assert.deepEqual(got.r.budget, {
    maxBytes: 64 * MiB,
    source: 'cgroup',
    memoryBytes: 256 * MiB,
    rule: 'quarter',
  });
  assert.equal(got.r.pool, 64 * MiB);
  assert.equal(got.r.defaultPool, 64 * MiB);
  assert.match(
    got.stderr,
    /default pool: maxBytes 64\.0 MiB, a quarter of the cgroup limit, 256\.0 MiB/,
  );
});

test('under a 56 MiB limit: raised to the 16 MiB largest class, and it says so', async (t) => {
  const got = await inCgroup(56 * MiB);
  if (typeof got === 'string') return t.skip(got);
  assert.deepEqual(got.r.budget, {
    maxBytes: 16 * MiB,
    source: 'cgroup',
    memoryBytes: 56 * MiB,
    rule: 'floor',
  });
  assert.equal(got.r.pool, 16 * MiB);
  // With smaller classes the floor is lower and the quarter applies.
  assert.deepEqual(
    { maxBytes: got.r.small.maxBytes, rule: got.r.small.rule },
    { maxBytes: 14 * MiB, rule: 'quarter' },
  );
  assert.match(
    got.stderr,
    /16\.0 MiB \(the largest size class; a quarter of the cgroup limit, 56\.0 MiB, is 14\.0 MiB\)/,
  );
});

test('without a limit: a quarter of the host, at most 1 GiB', (t) => {
  const b = defaultBudget();
  const limit = process.constrainedMemory?.() ?? 0;
  if (limit > 0 && limit < os.totalmem()) return t.skip('this process runs under a memory limit');
  assert.equal(b.source, 'host');
  assert.equal(b.memoryBytes, os.totalmem());
  const quarter = Math.floor(os.totalmem() / 4);
  assert.equal(b.maxBytes, Math.max(Math.min(quarter, DEFAULT_BUDGET_CAP), 16 * MiB));
  assert.equal(
    b.rule,
    quarter > DEFAULT_BUDGET_CAP ? 'cap' : quarter < 16 * MiB ? 'floor' : 'quarter',
  );
  assert.equal(defaultMaxBytes(), b.maxBytes);
  const pool = new BufferPool();
  assert.equal(pool.maxBytes, b.maxBytes);
  pool.close();
});
