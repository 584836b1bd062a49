// slabio/prom labels each pool by its name and reports only the size classes a pool has used.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { BufferPool, getDefaultPool } from '../src/index.js';
import { registerSlabioMetrics } from '../src/prom.js';

function poolSeries(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('slabio_pool_'));
}

test('the default pool after a small workload: labelled "default", one series per used class', async (t) => {
  const pool = getDefaultPool();
  t.after(() => pool.close());
  for (const size of [1024, 100 * 1024, 1 << 20]) pool.acquire(size).release();
  const registry = new Registry();
  const metrics = registerSlabioMetrics({ registry, pools: { main: pool } });
  t.after(() => metrics.unregister());
  let series = poolSeries(await registry.metrics());
  const used = pool.stats().classes.filter((c) => c.highWaterBytes > 0).length;
  assert.equal(used, 3);
  // (3 classes + "all") × 3 gauges + the leaks and oversize counters; 152 when every one of the
  // 49 classes had its series.
  assert.equal(series.length, (used + 1) * 3 + 2, series.join('\n'));
  assert.ok(
    series.every((l) => l.includes('pool="default"')),
    series.join('\n'),
  );
  const hundred = pool.stats().classes.find((c) => c.size >= 100 * 1024)?.size;
  assert.ok(
    series.some((l) =>
      l.startsWith(`slabio_pool_in_use_bytes{pool="default",class="${hundred}"} 0`),
    ),
  );
  // A class used later appears, and the used ones stay after a trim dropped their slabs.
  pool.acquire(8192).release();
  pool.trim();
  series = poolSeries(await registry.metrics());
  assert.equal(series.length, (used + 2) * 3 + 2, series.join('\n'));
  assert.ok(
    series.some((l) => l.startsWith('slabio_pool_reserved_bytes{pool="default",class="8192"} 0')),
  );
});

test('pools as a list are labelled by name; unnamed or equally named pools by their key', async (t) => {
  const a = new BufferPool({ name: 'uploads', sizeClasses: [4096], maxBytes: 1 << 20 });
  const b = new BufferPool({ sizeClasses: [4096], maxBytes: 1 << 20 });
  const c = new BufferPool({ sizeClasses: [4096], maxBytes: 1 << 20 });
  t.after(() => {
    for (const p of [a, b, c]) p.close();
  });
  const registry = new Registry();
  const m1 = registerSlabioMetrics({ registry, pools: [a, b, c] });
  let labels = new Set(
    poolSeries(await registry.metrics()).map((l) => /pool="([^"]*)"/.exec(l)?.[1]),
  );
  // b and c share the default name 'slabio': their indexes label them.
  assert.deepEqual([...labels].sort(), ['1', '2', 'uploads']);
  m1.unregister();
  const m2 = registerSlabioMetrics({ registry, pools: { up: a, thumbs: b } });
  labels = new Set(poolSeries(await registry.metrics()).map((l) => /pool="([^"]*)"/.exec(l)?.[1]));
  assert.deepEqual([...labels].sort(), ['slabio', 'uploads']);
  m2.unregister();
  // A key equal to another pool's name would merge two pools' series: refused.
  assert.throws(
    () => registerSlabioMetrics({ registry, pools: { uploads: b, other: c, x: a } }),
    (err: Error) => err instanceof RangeError && /pool="uploads"/.test(err.message),
  );
  assert.deepEqual(poolSeries(await registry.metrics()), []);
});

test('a second registration on one registry is refused before it changes anything', async (t) => {
  const pool = new BufferPool({ name: 'twice', sizeClasses: [4096], maxBytes: 1 << 20 });
  t.after(() => pool.close());
  const registry = new Registry();
  const first = registerSlabioMetrics({ registry, pools: [pool] });
  const before = registry.getMetricsAsArray().map((m) => m.name);
  assert.throws(
    () => registerSlabioMetrics({ registry, pools: [pool] }),
    (err: Error) =>
      err instanceof RangeError && /options\.registry already has slabio_/.test(err.message),
  );
  // Only the clashing last name: the others must not be left registered either.
  const other = new Registry();
  const clash = registerSlabioMetrics({ registry: other });
  const last = clash.names.at(-1) as string;
  clash.unregister();
  other.registerMetric(
    new (await import('prom-client')).Gauge({ name: last, help: 'x', registers: [] }),
  );
  assert.throws(() => registerSlabioMetrics({ registry: other }), RangeError);
  assert.deepEqual(
    other.getMetricsAsArray().map((m) => m.name),
    [last],
    'nothing of the refused call stays registered',
  );
  assert.deepEqual(
    registry.getMetricsAsArray().map((m) => m.name),
    before,
  );
  first.unregister();
  assert.equal(registry.getMetricsAsArray().length, 0);
});
