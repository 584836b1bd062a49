/**
 * Quick start: size classes of 100, 200 and 300 KiB, leases with `using`, waiting under a budget,
 * stats, and trim. Run: `npm run build && node dist/examples/pool.js`.
 */
import { BufferPool, PoolExhaustedError } from 'slabio';

const KiB = 1024;
const pool = new BufferPool({
  sizeClasses: [100 * KiB, 200 * KiB, 300 * KiB],
  maxBytes: 2 * 1024 * KiB, // hard budget: slabs plus live oversize buffers
  onExhausted: 'wait',
});

// A 150 KiB image is served by the 200 KiB class; `using` releases it at the end of the block.
{
  using lease = pool.acquire(150 * KiB);
  lease.buffer.fill(0x2a);
  console.log('leased %d bytes from the %d-byte class', lease.buffer.length, lease.capacity);
}

// Under a spent budget, acquireAsync waits (FIFO) and gives up after timeoutMs.
const held = Array.from({ length: 6 }, () => pool.acquire(300 * KiB));
const waiting = pool.acquireAsync(300 * KiB, { timeoutMs: 1000 });
held.pop()?.release(); // frees a block: the waiter gets it
const late = await waiting;
console.log('waiter served after a release; waits so far: %d', pool.stats().waits);

try {
  pool.acquire(300 * KiB); // sync acquire cannot wait
} catch (err) {
  if (!(err instanceof PoolExhaustedError)) throw err;
  console.log('sync acquire past the budget: %s', err.code);
}

late.release();
for (const lease of held) lease.release();
const stats = pool.stats();
console.log(
  'in use %d bytes, reserved %d bytes, hits %d, misses %d',
  stats.inUseBytes,
  stats.reservedBytes,
  stats.hits,
  stats.misses,
);
console.log('trim gave back %d bytes', pool.trim());
pool.close();
