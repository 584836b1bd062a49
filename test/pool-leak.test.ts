import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from '../src/index.js';

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
}

/** Collect warnings with code SLABIO_LEAK emitted while `fn` runs and GCs happen. */
async function leakWarnings(fn: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'SLABIO_LEAK') seen.push(w);
  };
  process.on('warning', onWarning);
  try {
    fn();
    for (let i = 0; i < 10; i++) {
      gc();
      await sleep(5);
    }
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

/** Acquire in a separate frame so nothing on this stack keeps the lease alive. */
function drop(pool: BufferPool, size: number): void {
  pool.acquire(size);
}

describe('leak detection', () => {
  it('reports a dropped lease once, with the acquiring stack in debug mode', async () => {
    const pool = new BufferPool({
      sizeClasses: [4096],
      maxBytes: 1 << 20,
      debug: true,
      name: 'leaky',
    });
    const warnings = await leakWarnings(() => drop(pool, 100));
    assert.equal(warnings.length, 1);
    const message = warnings[0]?.message ?? '';
    assert.match(message, /100 bytes from pool "leaky"/);
    assert.match(message, /Acquired at:/);
    assert.match(message, /drop/, 'the stack names the acquiring function');
    const stats = pool.stats();
    assert.equal(stats.leaks, 1);
    assert.equal(stats.inUseBytes, 0);
    assert.equal(stats.classes[0]?.freeBlocks, 0, 'the leaked block is never handed out again');
    pool.close();
  });

  it('does not report released leases', async () => {
    const pool = new BufferPool({ sizeClasses: [4096], maxBytes: 1 << 20, debug: true });
    const warnings = await leakWarnings(() => {
      for (let i = 0; i < 50; i++) pool.acquire(100).release();
      for (let i = 0; i < 5; i++) {
        using lease = pool.acquire(100);
        lease.buffer.fill(0);
      }
    });
    assert.equal(warnings.length, 0);
    assert.equal(pool.stats().leaks, 0);
    pool.close();
  });

  it('samples outside debug mode (1 in leakSampleRate) and reports once per pool', async () => {
    const pool = new BufferPool({
      sizeClasses: [4096],
      maxBytes: 64 << 20,
      leakSampleRate: 4,
      debug: false,
    });
    const warnings = await leakWarnings(() => {
      for (let i = 0; i < 40; i++) drop(pool, 10);
    });
    assert.equal(pool.stats().leaks, 10, 'one in four of 40 leaks is watched');
    assert.equal(warnings.length, 1, 'without stacks all leaks look alike: one warning');
    assert.match(warnings[0]?.message ?? '', /SLABIO_DEBUG=1/);
    pool.close();
  });

  it('gives a leaked oversize buffer back to the budget', async () => {
    const pool = new BufferPool({ sizeClasses: [4096], maxBytes: 1 << 20, leakSampleRate: 1 });
    await leakWarnings(() => drop(pool, 8192));
    const stats = pool.stats();
    assert.equal(stats.leaks, 1);
    assert.equal(stats.reservedBytes, 0);
    assert.equal(stats.oversizeBytes, 0);
    pool.close();
  });

  it('a slab whose blocks leaked can still be trimmed', async () => {
    const pool = new BufferPool({
      sizeClasses: [4096],
      maxBytes: 1 << 20,
      slabBytes: 8192,
      leakSampleRate: 1,
    });
    const kept = pool.acquire(1);
    await leakWarnings(() => drop(pool, 1));
    assert.equal(pool.trim(), 0, 'one block is still leased');
    kept.release();
    assert.equal(pool.trim(), 8192);
    pool.close();
  });
});
