import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { MemoryGuard } from '../src/memory/index.js';
import { BufferPool } from '../src/pool/index.js';
import { registerSlabioMetrics } from '../src/prom.js';
import { manualGuard } from './guard-helpers.js';
import { MiB } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../test/fixtures/cgroup/v2', import.meta.url));
const CTR = `${ROOT}/sys/fs/cgroup/kubepods.slice/pod-a/ctr`;

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line !== undefined, `no series ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('slabio/prom', () => {
  it('exports the working set, guard state and events, and pool figures per class', async (t) => {
    const registry = new Registry();
    const pool = new BufferPool({
      name: 'main',
      sizeClasses: [4096, 65536],
      maxBytes: 4 * MiB,
      idleTrimMs: 0,
    });
    t.after(() => pool.close());
    const held = pool.acquire(60_000);
    pool.acquire(100).release();
    pool.acquire(100_000).release(); // above the largest class: oversize
    const ws = { MiB: 152 };
    const guard = manualGuard({
      soft: 0.5,
      hard: 0.9,
      reader: {
        root: ROOT,
        readFile: async (f) =>
          f.endsWith('ctr/memory.current') ? String((ws.MiB + 40) * MiB) : readFile(f, 'utf8'),
      },
    });
    const metrics = registerSlabioMetrics({
      registry,
      guard,
      pools: { main: pool },
      reader: { root: ROOT },
    });
    t.after(() => metrics.unregister());

    await guard.sample(); // 152 of 256 MiB: above the soft threshold (128 MiB)
    let text = await registry.metrics();
    assert.equal(value(text, 'slabio_memory_working_set_bytes'), 152 * MiB);
    assert.equal(value(text, 'slabio_memory_usage_bytes'), 192 * MiB);
    assert.equal(value(text, 'slabio_memory_limit_bytes'), 256 * MiB);
    assert.equal(value(text, 'slabio_memory_limited'), 1);
    assert.equal(value(text, 'slabio_memory_active_file_bytes'), 95 * MiB);
    assert.equal(value(text, 'slabio_memory_inactive_file_bytes'), 40 * MiB);
    assert.equal(value(text, 'slabio_memory_oom_kills'), 1);
    assert.equal(value(text, 'slabio_guard_state'), 1);
    assert.equal(value(text, 'slabio_guard_events_total{event="soft"}'), 1);
    assert.equal(value(text, 'slabio_guard_events_total{event="hard"}'), 0);
    const s = pool.stats();
    assert.equal(
      value(text, 'slabio_pool_reserved_bytes{pool="main",class="all"}'),
      s.reservedBytes,
    );
    assert.equal(value(text, 'slabio_pool_in_use_bytes{pool="main",class="65536"}'), 65536);
    assert.equal(value(text, 'slabio_pool_in_use_bytes{pool="main",class="4096"}'), 0);
    assert.equal(value(text, 'slabio_pool_oversize_total{pool="main"}'), s.oversize);
    assert.ok(s.oversize >= 1);

    // A second scrape does not count the same events twice; new events are added.
    ws.MiB = 240;
    await guard.sample();
    ws.MiB = 10;
    await guard.sample();
    text = await registry.metrics();
    assert.equal(value(text, 'slabio_guard_events_total{event="soft"}'), 2);
    assert.equal(value(text, 'slabio_guard_events_total{event="hard"}'), 1);
    assert.equal(value(text, 'slabio_guard_events_total{event="recovered"}'), 1);
    assert.equal(value(text, 'slabio_guard_state'), 0);
    text = await registry.metrics();
    assert.equal(value(text, 'slabio_guard_events_total{event="soft"}'), 2);
    held.release();
  });

  it('a failed read drops only its own cache entry, not a newer good one', async (t) => {
    let clock = 0;
    t.mock.method(performance, 'now', () => clock);
    const registry = new Registry();
    let reads = 0;
    let failFirst: (err: Error) => void = () => {};
    let stalled: () => void = () => {};
    const firstStalls = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    const m = registerSlabioMetrics({
      registry,
      cacheMs: 100,
      reader: {
        cgroupDir: CTR,
        root: ROOT,
        readFile: (f) => {
          if (!f.endsWith('memory.stat')) return readFile(f, 'utf8');
          if (++reads > 1) return readFile(f, 'utf8');
          return new Promise<string>((_resolve, reject) => {
            failFirst = reject;
            stalled();
          });
        },
      },
    });
    t.after(() => m.unregister());
    const gauge = (name: string) => {
      const metric = registry.getSingleMetric(`slabio_${name}`);
      assert.ok(metric !== undefined, name);
      return metric;
    };
    const slow = gauge('memory_working_set_bytes').get(); // read 1: stalls, will fail
    slow.catch(() => {});
    // Let read 1 reach memory.stat before read 2 starts: otherwise read 2, racing it through the
    // other files, may be the one that stalls.
    await firstStalls;
    assert.equal(reads, 1);
    clock = 200; // read 1's entry has expired: the next scrape reads again
    await gauge('memory_usage_bytes').get(); // read 2: good, cached at 200
    assert.equal(reads, 2);
    failFirst(Object.assign(new Error('i/o error'), { code: 'EIO' }));
    assert.ok(Number.isNaN((await slow).values[0]?.value), 'the failed read is NaN');
    clock = 250; // read 2 is still fresh
    await gauge('memory_limit_bytes').get();
    assert.equal(reads, 2, 'the good read 2 served the scrape; read 1 failing did not drop it');
  });

  it('keeps scraping while the cgroup is unreadable: NaN memory, read_success 0, guard blind', async (t) => {
    const registry = new Registry();
    const box = { broken: true };
    const reader = {
      cgroupDir: CTR,
      root: ROOT,
      readFile: (f: string) =>
        box.broken && f.endsWith('memory.current') ? Promise.resolve('-1\n') : readFile(f, 'utf8'),
    };
    const guard = new MemoryGuard({ intervalMs: 0, reader });
    const m = registerSlabioMetrics({ registry, guard, reader, cacheMs: 0 });
    t.after(() => m.unregister());
    await assert.rejects(guard.sample(), /memory\.current: malformed number "-1"/);
    await assert.rejects(guard.sample());
    let text = await registry.metrics();
    assert.equal(value(text, 'slabio_memory_read_success'), 0);
    assert.ok(Number.isNaN(value(text, 'slabio_memory_working_set_bytes')));
    assert.ok(Number.isNaN(value(text, 'slabio_memory_limit_bytes')));
    assert.equal(value(text, 'slabio_guard_blind'), 1);
    assert.equal(value(text, 'slabio_guard_failed_samples_total'), 2);

    box.broken = false;
    await guard.sample();
    text = await registry.metrics();
    assert.equal(value(text, 'slabio_memory_read_success'), 1);
    assert.equal(value(text, 'slabio_memory_working_set_bytes'), 152 * MiB);
    assert.equal(value(text, 'slabio_guard_blind'), 0);
    assert.equal(value(text, 'slabio_guard_failed_samples_total'), 2);
  });

  it('reports host memory as the limit and limited 0 without a cgroup limit', async (t) => {
    const registry = new Registry();
    const m = registerSlabioMetrics({
      registry,
      prefix: 'x_',
      reader: {
        root: fileURLToPath(new URL('../../test/fixtures/cgroup/v2-unlimited', import.meta.url)),
      },
    });
    t.after(() => m.unregister());
    const text = await registry.metrics();
    assert.equal(value(text, 'x_memory_limited'), 0);
    assert.equal(value(text, 'x_memory_limit_bytes'), 8 * 1024 * MiB);
    assert.ok(!m.names.some((n) => n.includes('guard') || n.includes('pool')));
  });

  it('refuses a second registration on the same registry and unregisters cleanly', async () => {
    const registry = new Registry();
    const m = registerSlabioMetrics({ registry, reader: { cgroupDir: CTR, root: ROOT } });
    assert.throws(
      () => registerSlabioMetrics({ registry, reader: { cgroupDir: CTR, root: ROOT } }),
      /options\.registry already has slabio_/,
    );
    m.unregister();
    assert.equal(await registry.metrics(), '\n');
    assert.throws(
      () => registerSlabioMetrics({ registry, cacheMs: -1 }),
      /options\.cacheMs .* got -1/,
    );
  });
});
