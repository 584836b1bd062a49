import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from '../src/index.js';
import { nativeAvailable } from '../src/linux/index.js';
import { MiB } from './helpers.js';

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
  collect();
}

/** One burst of 160 live 1 MiB leases, then all released. */
function burst(pool: BufferPool): void {
  const leases = Array.from({ length: 160 }, () => pool.acquire(MiB));
  for (const lease of leases) lease.buffer.fill(1); // touch every page so it is resident
  for (const lease of leases) lease.release();
}

async function settle(): Promise<void> {
  gc();
  // FinalizationRegistry callbacks run in a task after the GC; the pool calls malloc_trim there.
  for (let i = 0; i < 5; i++) await sleep(10);
}

describe('BufferPool memory return', () => {
  it('trim() gives a burst back: arrayBuffers and RSS fall', {
    skip:
      !nativeAvailable() &&
      'native addon not loaded: RSS cannot be handed back without malloc_trim',
  }, async () => {
    // A first burst, trimmed and collected, raises glibc's dynamic mmap threshold past 1 MiB:
    // from then on 1 MiB chunks come from the heap and stay in RSS unless trimmed. This is
    // the steady state of a long-running service, so measure the second burst.
    const pool = new BufferPool({
      sizeClasses: [MiB],
      maxBytes: 256 * MiB,
      idleTrimMs: 0,
      spareRatio: Number.POSITIVE_INFINITY,
    });
    burst(pool);
    pool.trim();
    await settle();

    burst(pool);
    await settle();
    const before = process.memoryUsage();
    assert.equal(pool.stats().reservedBytes, 160 * MiB);
    const freed = pool.trim();
    assert.equal(freed, 160 * MiB);
    await settle();
    const after = process.memoryUsage();
    const abDrop = before.arrayBuffers - after.arrayBuffers;
    const rssDrop = before.rss - after.rss;
    console.log(
      `arrayBuffers -${(abDrop / MiB).toFixed(0)} MiB, rss -${(rssDrop / MiB).toFixed(0)} MiB`,
    );
    assert.ok(abDrop >= 150 * MiB, `arrayBuffers fell by ${abDrop}`);
    assert.ok(rssDrop >= 100 * MiB, `rss fell by ${rssDrop}`);
    pool.close();
  });

  it('without trim the reservation (and RSS) stays: the test above can fail', async () => {
    const pool = new BufferPool({
      sizeClasses: [MiB],
      maxBytes: 256 * MiB,
      idleTrimMs: 0,
      spareRatio: Number.POSITIVE_INFINITY,
    });
    burst(pool);
    await settle();
    const before = process.memoryUsage();
    burst(pool); // served from the same slabs: no new memory
    await settle();
    const after = process.memoryUsage();
    assert.equal(pool.stats().misses, 160);
    assert.ok(after.arrayBuffers >= before.arrayBuffers - MiB);
    assert.ok(after.arrayBuffers >= 160 * MiB);
    pool.close();
  });
});
