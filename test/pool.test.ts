import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import {
  BufferPool,
  ClosedError,
  DoubleReleaseError,
  defaultSizeClasses,
  getDefaultPool,
  type Lease,
  PoolExhaustedError,
  SlabioTimeoutError,
  UseAfterReleaseError,
} from '../src/index.js';
import { KiB } from './helpers.js';

const field = [100 * KiB, 200 * KiB, 300 * KiB];

describe('defaultSizeClasses', () => {
  it('spans 4 KiB to 16 MiB in steps that waste under 25%', () => {
    const classes = defaultSizeClasses();
    assert.equal(classes[0], 4 * KiB);
    assert.equal(classes.at(-1), 16 * 1024 * KiB);
    for (let i = 1; i < classes.length; i++) {
      const prev = classes[i - 1] as number;
      const cur = classes[i] as number;
      // worst request: one byte over the previous class
      assert.ok((cur - (prev + 1)) / cur < 0.25, `${prev} -> ${cur}`);
    }
  });
});

describe('BufferPool options', () => {
  const bad: Array<[string, unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    ['sizeClasses', 'x', TypeError, /sizeClasses/],
    ['sizeClasses', [], RangeError, /sizeClasses/],
    ['sizeClasses', [200, 100], RangeError, /ascending.*100/],
    ['sizeClasses', [100, 100], RangeError, /ascending/],
    ['sizeClasses', [0], RangeError, /sizeClasses\[0\].*0/],
    ['sizeClasses', [1.5], RangeError, /1\.5/],
    ['sizeClasses', [Number.NaN], RangeError, /NaN/],
    ['sizeClasses', ['1'], TypeError, /sizeClasses\[0\]/],
    ['maxBytes', -1, RangeError, /maxBytes.*-1/],
    ['maxBytes', 'big', TypeError, /maxBytes/],
    ['maxBytes', 100 * KiB, RangeError, /maxBytes \(102400\).*largest size class \(307200\)/],
    ['slabBytes', 0, RangeError, /slabBytes.*0/],
    ['onExhausted', 'panic', RangeError, /onExhausted.*panic/],
    ['idleTrimMs', -5, RangeError, /idleTrimMs.*-5/],
    ['leakSampleRate', 0.5, RangeError, /leakSampleRate/],
    ['debug', 'yes', TypeError, /debug/],
  ];
  for (const [option, value, type, message] of bad) {
    it(`rejects ${option} = ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => new BufferPool({ sizeClasses: field, [option]: value }),
        (err: unknown) => {
          assert.ok(err instanceof type);
          assert.match((err as Error).message, message);
          return true;
        },
      );
    });
  }

  it('accepts a budget exactly the largest class', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 300 * KiB });
    pool.acquire(300 * KiB).release();
    pool.close();
  });

  it('rejects bad sizes with the value in the message', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    assert.throws(() => pool.acquire(-1), RangeError);
    assert.throws(() => pool.acquire(1.5), /1\.5/);
    assert.throws(() => pool.acquire(Number.NaN), /NaN/);
    assert.throws(() => pool.acquire('1' as unknown as number), TypeError);
    pool.close();
  });
});

describe('BufferPool.acquire', () => {
  it('serves size 0 with an empty lease that holds no memory', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    const lease = pool.acquire(0);
    assert.equal(lease.buffer.length, 0);
    assert.equal(lease.capacity, 0);
    assert.equal(pool.stats().reservedBytes, 0);
    lease.release();
    assert.throws(() => lease.release(), DoubleReleaseError);
    pool.close();
  });

  it('picks the smallest class that fits: exact size, size + 1, largest + 1', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 4 << 20 });
    const exact = pool.acquire(100 * KiB);
    assert.equal(exact.capacity, 100 * KiB);
    assert.equal(exact.buffer.length, 100 * KiB);
    const plusOne = pool.acquire(100 * KiB + 1);
    assert.equal(plusOne.capacity, 200 * KiB);
    assert.equal(plusOne.buffer.length, 100 * KiB + 1);
    const over = pool.acquire(300 * KiB + 1);
    assert.equal(over.capacity, 300 * KiB + 1);
    const stats = pool.stats();
    assert.equal(stats.oversize, 1);
    assert.equal(stats.oversizeBytes, 300 * KiB + 1);
    assert.equal(stats.inUseBytes, 300 * KiB + 300 * KiB + 1);
    for (const l of [exact, plusOne, over]) l.release();
    assert.equal(pool.stats().inUseBytes, 0);
    assert.equal(pool.stats().oversizeBytes, 0);
    pool.close();
  });

  it('reuses a released block (hit) instead of reserving (miss)', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 4 << 20, slabBytes: 100 * KiB });
    const a = pool.acquire(150 * KiB);
    a.buffer[0] = 42;
    a.release();
    const b = pool.acquire(160 * KiB);
    assert.equal(b.buffer[0], 42, 'same block comes back');
    const s = pool.stats().classes[1];
    assert.equal(s?.hits, 1);
    assert.equal(s?.misses, 1);
    b.release();
    pool.close();
  });

  it('carves several blocks from one slab', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 4 << 20, slabBytes: 1 << 20 });
    const leases = Array.from({ length: 10 }, () => pool.acquire(100 * KiB));
    const s = pool.stats();
    assert.equal(s.slabs, 1);
    assert.equal(s.reservedBytes, 1000 * KiB);
    assert.equal(s.misses, 1);
    assert.equal(s.hits, 9);
    for (const l of leases) l.release();
    pool.close();
  });

  it('throws ERR_SLABIO_POOL_EXHAUSTED when the budget is exactly spent (throw and wait)', () => {
    for (const onExhausted of ['throw', 'wait'] as const) {
      const pool = new BufferPool({
        sizeClasses: field,
        maxBytes: 600 * KiB,
        slabBytes: 1,
        onExhausted,
      });
      const a = pool.acquire(300 * KiB);
      const b = pool.acquire(300 * KiB);
      assert.equal(pool.stats().reservedBytes, 600 * KiB);
      assert.throws(
        () => pool.acquire(1),
        (err: unknown) => {
          assert.ok(err instanceof PoolExhaustedError);
          assert.equal(err.code, 'ERR_SLABIO_POOL_EXHAUSTED');
          assert.equal(err.requested, 1);
          assert.equal(err.reservedBytes, 600 * KiB);
          return true;
        },
      );
      assert.equal(pool.stats().rejections, 1);
      a.release();
      b.release();
      pool.close();
    }
  });

  it("hands out unpooled memory outside the budget under 'allocate'", () => {
    const pool = new BufferPool({
      sizeClasses: field,
      maxBytes: 300 * KiB,
      onExhausted: 'allocate',
    });
    const a = pool.acquire(300 * KiB);
    const b = pool.acquire(300 * KiB);
    assert.equal(b.buffer.length, 300 * KiB);
    assert.notEqual(a.buffer.buffer, b.buffer.buffer);
    assert.equal(pool.stats().fallbacks, 1);
    assert.equal(pool.stats().reservedBytes, 300 * KiB);
    b.release();
    a.release();
    assert.equal(pool.stats().inUseBytes, 0);
    pool.close();
  });

  it('drops idle slabs of another class to make room', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 600 * KiB, slabBytes: 1 });
    const small = [pool.acquire(100 * KiB), pool.acquire(100 * KiB), pool.acquire(100 * KiB)];
    for (const l of small) l.release();
    const big = [pool.acquire(300 * KiB), pool.acquire(300 * KiB)];
    assert.equal(pool.stats().reservedBytes, 600 * KiB);
    assert.equal(pool.stats().classes[0]?.slabs, 0);
    for (const l of big) l.release();
    pool.close();
  });

  it('reserves a smaller slab when a full one does not fit', () => {
    const pool = new BufferPool({
      sizeClasses: [100 * KiB],
      maxBytes: 250 * KiB,
      slabBytes: 1 << 20,
    });
    const a = pool.acquire(1);
    const b = pool.acquire(1);
    assert.equal(pool.stats().reservedBytes, 200 * KiB);
    assert.throws(() => pool.acquire(1), PoolExhaustedError);
    a.release();
    b.release();
    pool.close();
  });
});

describe('Lease', () => {
  it('throws ERR_SLABIO_DOUBLE_RELEASE on a second release; dispose is idempotent', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    const lease = pool.acquire(10);
    lease.release();
    assert.equal(lease.released, true);
    assert.throws(
      () => lease.release(),
      (e: unknown) => e instanceof DoubleReleaseError && e.code === 'ERR_SLABIO_DOUBLE_RELEASE',
    );
    lease[Symbol.dispose]();
    lease[Symbol.dispose]();
    assert.equal(pool.stats().inUseBytes, 0);
    pool.close();
  });

  it('works with `using`, also when the block throws', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    assert.throws(() => {
      using lease = pool.acquire(1000);
      lease.buffer.fill(1);
      assert.equal(pool.stats().inUseBytes, 100 * KiB);
      throw new Error('boom');
    }, /boom/);
    assert.equal(pool.stats().inUseBytes, 0);
    pool.close();
  });

  it('refuses buffer access after release', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    const lease = pool.acquire(10);
    lease.release();
    assert.throws(() => lease.buffer, UseAfterReleaseError);
    assert.throws(() => lease.truncate(1), UseAfterReleaseError);
    pool.close();
  });

  it('truncate shrinks the view within bounds', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    const lease = pool.acquire(10);
    lease.truncate(4);
    assert.equal(lease.buffer.length, 4);
    lease.truncate(4);
    assert.throws(() => lease.truncate(5), RangeError);
    assert.throws(() => lease.truncate(-1), RangeError);
    lease.release();
    pool.close();
  });

  it('in debug mode poisons released memory and detaches stale views', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20, debug: true });
    const lease = pool.acquire(100);
    const stale = lease.buffer;
    stale.fill(7);
    lease.release();
    assert.equal(stale.length, 0, 'the stale view is detached');
    assert.throws(() => stale.readUInt8(0), RangeError);
    const again = pool.acquire(100);
    assert.equal(again.buffer[0], 0xde, 'the block was poisoned');
    again.release();
    pool.close();
  });

  it('outside debug mode keeps the slab shared (views are not detached)', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20, debug: false });
    const lease = pool.acquire(100);
    const stale = lease.buffer;
    lease.release();
    assert.equal(stale.length, 100);
    pool.close();
  });
});

describe('BufferPool.acquireAsync', () => {
  const tight = () =>
    new BufferPool({ sizeClasses: field, maxBytes: 300 * KiB, slabBytes: 1, onExhausted: 'wait' });

  it('resolves at once when memory is free', async () => {
    const pool = tight();
    const lease = await pool.acquireAsync(1);
    assert.equal(pool.stats().waits, 0);
    lease.release();
    pool.close();
  });

  it('serves waiters in FIFO order', async () => {
    const pool = tight();
    const held = pool.acquire(300 * KiB);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      pool.acquireAsync(300 * KiB).then((l) => {
        order.push(n);
        setImmediate(() => l.release());
        return l;
      }),
    );
    assert.equal(pool.stats().waiting, 3);
    held.release();
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(pool.stats().waits, 3);
    pool.close();
  });

  it('rejects with signal.reason when aborted before, and queues nothing', async () => {
    const pool = tight();
    const reason = new Error('gone');
    await assert.rejects(
      pool.acquireAsync(1, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.equal(pool.stats().waiting, 0);
    pool.close();
  });

  it('rejects with signal.reason when aborted while waiting, and leaves no waiter', async () => {
    const pool = tight();
    const held = pool.acquire(300 * KiB);
    const ac = new AbortController();
    const p = pool.acquireAsync(1, { signal: ac.signal });
    assert.equal(pool.stats().waiting, 1);
    ac.abort();
    await assert.rejects(p, (e: unknown) => (e as Error).name === 'AbortError');
    assert.equal(pool.stats().waiting, 0);
    held.release();
    assert.equal(pool.stats().inUseBytes, 0, 'the aborted waiter was not served later');
    pool.close();
  });

  it('times out with ERR_SLABIO_TIMEOUT and leaves no waiter', async () => {
    const pool = tight();
    const held = pool.acquire(300 * KiB);
    await assert.rejects(pool.acquireAsync(1, { timeoutMs: 10 }), (e: unknown) => {
      assert.ok(e instanceof SlabioTimeoutError);
      assert.equal(e.code, 'ERR_SLABIO_TIMEOUT');
      assert.equal(e.timeoutMs, 10);
      return true;
    });
    assert.equal(pool.stats().waiting, 0);
    assert.equal(pool.stats().timeouts, 1);
    held.release();
    assert.equal(pool.stats().inUseBytes, 0);
    pool.close();
  });

  it('rejects waiters with ERR_SLABIO_CLOSED on close, and later acquires throw', async () => {
    const pool = tight();
    const held = pool.acquire(300 * KiB);
    const p = pool.acquireAsync(1);
    pool.close();
    await assert.rejects(p, ClosedError);
    assert.throws(
      () => pool.acquire(1),
      (e: unknown) => e instanceof ClosedError && e.code === 'ERR_SLABIO_CLOSED',
    );
    await assert.rejects(pool.acquireAsync(1), ClosedError);
    held.release();
    assert.equal(pool.stats().reservedBytes, 0, 'the last lease back frees its slab');
    pool.close();
  });

  it('rejects a request larger than the whole budget instead of waiting forever', async () => {
    const pool = tight();
    await assert.rejects(pool.acquireAsync(300 * KiB + 1 + 300 * KiB), PoolExhaustedError);
    pool.close();
  });

  it("rejects at once under 'throw'", async () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 300 * KiB, onExhausted: 'throw' });
    const held = pool.acquire(300 * KiB);
    await assert.rejects(pool.acquireAsync(1), PoolExhaustedError);
    held.release();
    pool.close();
  });

  it('validates its options', async () => {
    const pool = tight();
    await assert.rejects(pool.acquireAsync(1, { timeoutMs: -1 }), RangeError);
    await assert.rejects(pool.acquireAsync(1, { signal: {} as AbortSignal }), TypeError);
    await assert.rejects(pool.acquireAsync(-1), RangeError);
    pool.close();
  });
});

describe('trim, stats, channels, default pool', () => {
  it('trim drops only idle slabs', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 4 << 20, slabBytes: 1 });
    const a = pool.acquire(1);
    const b = pool.acquire(200 * KiB);
    b.release();
    assert.equal(pool.trim(), 200 * KiB);
    assert.equal(pool.trim(), 0);
    assert.equal(pool.stats().reservedBytes, 100 * KiB);
    assert.equal(pool.stats().trimmedBytes, 200 * KiB);
    a.release();
    pool.close();
    assert.equal(pool.stats().reservedBytes, 0);
  });

  it('idle trimming drops slabs after idleTrimMs, and keeps busy ones', async () => {
    const pool = new BufferPool({
      sizeClasses: field,
      maxBytes: 4 << 20,
      idleTrimMs: 20,
      slabBytes: 1,
    });
    const busy = pool.acquire(300 * KiB);
    pool.acquire(1).release();
    assert.equal(pool.stats().reservedBytes, 400 * KiB);
    for (let i = 0; i < 100 && pool.stats().reservedBytes > 300 * KiB; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(pool.stats().reservedBytes, 300 * KiB, 'the busy slab stays');
    busy.release();
    pool.close();
  });

  it('publishes slab and trim events on diagnostics channels', () => {
    const seen: string[] = [];
    const onSlab = (m: unknown) => seen.push(`slab:${(m as { bytes: number }).bytes}`);
    const onTrim = (m: unknown) => seen.push(`trim:${(m as { freedBytes: number }).freedBytes}`);
    diagnosticsChannel.subscribe('slabio:pool:slab', onSlab);
    diagnosticsChannel.subscribe('slabio:pool:trim', onTrim);
    try {
      const pool = new BufferPool({ sizeClasses: field, maxBytes: 4 << 20, slabBytes: 1 });
      pool.acquire(1).release();
      pool.trim();
      pool.close();
    } finally {
      diagnosticsChannel.unsubscribe('slabio:pool:slab', onSlab);
      diagnosticsChannel.unsubscribe('slabio:pool:trim', onTrim);
    }
    assert.deepEqual(seen, [`slab:${100 * KiB}`, `trim:${100 * KiB}`]);
  });

  it('getDefaultPool returns one shared pool and replaces a closed one', () => {
    const a = getDefaultPool();
    assert.equal(getDefaultPool(), a);
    a.close();
    const b = getDefaultPool();
    assert.notEqual(b, a);
    assert.equal(b.closed, false);
  });
});

describe('BufferPool.tryAcquire', () => {
  it('leases when the pool can serve now, else returns null without counting a rejection', () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 300 * KiB, onExhausted: 'throw' });
    const a = pool.tryAcquire(300 * KiB);
    assert.ok(a !== null);
    assert.equal(pool.tryAcquire(1), null);
    assert.equal(pool.stats().rejections, 0);
    a.release();
    assert.throws(() => pool.tryAcquire(-1), RangeError);
    pool.close();
    assert.throws(() => pool.tryAcquire(1), ClosedError);
  });

  it('keeps the turn of queued waiters', async () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 400 * KiB, slabBytes: 1 });
    const held = pool.acquire(300 * KiB);
    const waiting = pool.acquireAsync(300 * KiB);
    assert.equal(pool.stats().waiting, 1);
    assert.equal(
      pool.tryAcquire(1),
      null,
      'memory for a small lease is free, but a waiter is first',
    );
    held.release();
    (await waiting).release();
    const now = pool.tryAcquire(1);
    assert.ok(now !== null);
    now.release();
    pool.close();
  });
});

describe('waiters after the head leaves', () => {
  /** 768 KiB of a 1 MiB budget leased: a 512 KiB request must wait, a 64 KiB one would fit. */
  const busyPool = (): { pool: BufferPool; held: Lease[] } => {
    const pool = new BufferPool({
      sizeClasses: [64 * KiB, 512 * KiB],
      maxBytes: 1024 * KiB,
      slabBytes: 1,
    });
    const held = [512, 64, 64, 64, 64].map((k) => pool.acquire(k * KiB));
    return { pool, held };
  };

  it('serves the next waiter that fits when the head is aborted', async () => {
    const { pool, held } = busyPool();
    // The 512 KiB head waits; the 64 KiB request queues behind it although it would fit.
    const ac = new AbortController();
    const head = pool.acquireAsync(512 * KiB, { signal: ac.signal });
    const next = pool.acquireAsync(64 * KiB, { signal: AbortSignal.timeout(5000) });
    assert.equal(pool.stats().waiting, 2);
    ac.abort();
    await assert.rejects(head, (e: unknown) => (e as Error).name === 'AbortError');
    const lease = await next; // without the re-drain this waits for an unrelated release (timeout)
    assert.equal(lease.capacity, 64 * KiB);
    lease.release();
    for (const l of held) l.release();
    pool.close();
  });

  it('serves the next waiter that fits when the head times out', async () => {
    const { pool, held } = busyPool();
    const head = pool.acquireAsync(512 * KiB, { timeoutMs: 5 });
    const next = pool.acquireAsync(64 * KiB, { signal: AbortSignal.timeout(5000) });
    await assert.rejects(head, SlabioTimeoutError);
    (await next).release();
    for (const l of held) l.release();
    pool.close();
  });

  it('rejects timeouts a timer cannot hold, and non-numbers', async () => {
    const pool = new BufferPool({ sizeClasses: field, maxBytes: 1 << 20 });
    await assert.rejects(
      pool.acquireAsync(1, { timeoutMs: 2 ** 31 }),
      (e: unknown) => e instanceof RangeError && /2147483647/.test(e.message),
    );
    await assert.rejects(pool.acquireAsync(1, { timeoutMs: '5' as unknown as number }), TypeError);
    (await pool.acquireAsync(1, { timeoutMs: 2 ** 31 - 1 })).release();
    pool.close();
  });

  it('hands out blocks oldest slab first, also with many slabs', () => {
    const pool = new BufferPool({
      sizeClasses: [4096],
      maxBytes: 64 << 20,
      slabBytes: 8192,
      spareRatio: Number.POSITIVE_INFINITY,
    });
    const leases = Array.from({ length: 2000 }, () => pool.acquire(4096)); // 1000 slabs
    const oldest = leases[0]?.buffer.buffer;
    const newest = leases[1999]?.buffer.buffer;
    leases[1999]?.release();
    leases[0]?.release();
    const again = pool.acquire(4096);
    assert.equal(again.buffer.buffer, oldest, 'the oldest slab with a free block serves first');
    const next = pool.acquire(4096);
    assert.equal(next.buffer.buffer, newest);
    again.release();
    next.release();
    for (const l of leases.slice(1, 1999)) l.release();
    assert.equal(pool.trim(), 1000 * 8192);
    pool.close();
  });
});
