/**
 * `slabio/prom`: Prometheus metrics for the working set, the memory guard and buffer pools, via
 * prom-client (an optional peer dependency: only this entry point loads it).
 *
 * @module
 */
import { Counter, Gauge, register as globalRegistry, Registry } from 'prom-client';
import { debug } from './debug.js';
import type { CgroupMemory, ReadCgroupMemoryOptions } from './memory/cgroup.js';
import { readCgroupMemory } from './memory/cgroup.js';
import type { GuardStats } from './memory/guard-types.js';
import { checkObject, numberOption } from './validate.js';

/** The part of a `BufferPool` the metrics read. */
export interface PoolStatsSource {
  /** The `pool` label, when unique among the registered pools (a `BufferPool`'s `name`). */
  readonly name?: string;
  stats(): {
    reservedBytes: number;
    inUseBytes: number;
    highWaterBytes: number;
    leaks: number;
    oversize: number;
    classes: ReadonlyArray<{
      size: number;
      reservedBytes: number;
      inUseBytes: number;
      highWaterBytes: number;
    }>;
  };
}

/** The part of a `MemoryGuard` the metrics read. */
export interface GuardStatsSource {
  stats(): GuardStats;
}

/** Options of {@link registerSlabioMetrics}. */
export interface RegisterSlabioMetricsOptions {
  /** Registry to register on. @default prom-client's global `register` */
  registry?: Registry;
  /** Metric name prefix. @default 'slabio_' */
  prefix?: string;
  /**
   * The pools to report, as a list or by key. Each is labelled `pool` by its `name` (a
   * `BufferPool`'s `name` option) when that is unique among them, else by its key (its index in a
   * list).
   * @default {}
   */
  pools?: Record<string, PoolStatsSource> | readonly PoolStatsSource[];
  /** A memory guard: its state, actions and page-cache drops. */
  guard?: GuardStatsSource;
  /** Options for `readCgroupMemory` (e.g. `cgroupDir`). */
  reader?: ReadCgroupMemoryOptions;
  /**
   * How long one cgroup read serves the memory gauges, so a scrape reads the files once.
   * @default 500
   */
  cacheMs?: number;
}

/** What {@link registerSlabioMetrics} registered. */
export interface SlabioMetrics {
  /** The metric names. */
  names: string[];
  /** Remove every metric from the registry. */
  unregister(): void;
}

const STATE = { ok: 0, soft: 1, hard: 2 } as const;

/**
 * Register slabio's gauges and counters on a prom-client registry. Values are read at scrape time.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `slabio_memory_working_set_bytes` (cadvisor's formula), `_usage_bytes`, `_limit_bytes` (host memory when unlimited), `_limited` (0/1), `_anon_bytes`, `_active_file_bytes`, `_inactive_file_bytes`, `_shmem_bytes`, `_oom_kills` | gauge | |
 * | `slabio_memory_high_bytes` (cgroup v2 `memory.high`; the limit, or host memory, when unset), `slabio_memory_ceiling_bytes` (the lower of the two: what the guard's fractions are taken of) | gauge | |
 * | `slabio_memory_high_events_total` (kernel throttling over `memory.high`, {@link CgroupMemory.highEvents}) | counter | |
 * | `slabio_memory_read_success` (1 when this scrape read the cgroup, 0 when it could not) | gauge | |
 * | `slabio_guard_state` (0 ok, 1 soft, 2 hard), `slabio_guard_blind` (1 while the guard cannot read the cgroup) | gauge | |
 * | `slabio_guard_failed_samples_total` | counter | |
 * | `slabio_guard_events_total` | counter | `event` = soft, hard, recovered |
 * | `slabio_guard_trimmed_bytes_total`, `slabio_page_cache_drops_total`, `slabio_guard_malloc_trims_total`, `slabio_guard_reclaims_total` | counter | |
 * | `slabio_pool_reserved_bytes`, `_in_use_bytes`, `_high_water_bytes` | gauge | `pool`, `class` (block size, or `all`): a class appears once it has been used or holds slabs |
 * | `slabio_pool_leaks_total`, `slabio_pool_oversize_total` | counter | `pool` |
 *
 * A cgroup read that fails does not fail the scrape: the memory gauges are `NaN` for that
 * scrape and `slabio_memory_read_success` is 0, so the guard and pool metrics still arrive.
 * Alert on `slabio_memory_read_success == 0` or `slabio_guard_blind == 1`.
 *
 * @throws {Error} prom-client's error when a metric of the same name is already registered.
 * @throws {RangeError} when two pools would get the same `pool` label (a key equal to a name).
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { registerSlabioMetrics } from 'slabio/prom';
 * const registry = new Registry();
 * registerSlabioMetrics({ registry, guard, pools: [pool] }); // labelled by pool.name
 * ```
 */
export function registerSlabioMetrics(options: RegisterSlabioMetricsOptions = {}): SlabioMetrics {
  checkObject('options', options);
  const registry = options.registry ?? globalRegistry;
  const p = options.prefix ?? 'slabio_';
  const cacheMs = numberOption('options.cacheMs', options.cacheMs, 500);
  // Built on a registry of its own and moved over only when no name clashes, so a second call on
  // one registry fails before changing it instead of half-registering.
  const staging = new Registry();
  const registers = [staging];
  const names: string[] = [];
  let cached: { at: number; value: Promise<CgroupMemory> } | null = null;
  const memory = (): Promise<CgroupMemory> => {
    const now = performance.now();
    if (cached === null || now - cached.at > cacheMs) {
      const entry = { at: now, value: readCgroupMemory(options.reader) };
      cached = entry;
      // A failed read is not cached: the next scrape tries again. Only this entry is dropped: a
      // slow read can fail after a newer one replaced it, and the newer one stays.
      entry.value.catch(() => {
        if (cached === entry) cached = null;
      });
    }
    return cached.value;
  };

  const memGauge = (name: string, help: string, pick: (m: CgroupMemory) => number) => {
    names.push(p + name);
    new Gauge({
      name: p + name,
      help,
      registers,
      async collect() {
        this.set(await read(pick, Number.NaN));
      },
    });
  };
  // A failed read is reported by memory_read_success, not by failing the whole scrape.
  const read = <T>(pick: (m: CgroupMemory) => T, failed: T): Promise<T> =>
    memory().then(pick, (err: unknown) => {
      debug('prom: cgroup read failed: %s', (err as Error)?.message);
      return failed;
    });
  names.push(`${p}memory_read_success`);
  new Gauge({
    name: `${p}memory_read_success`,
    help: '1 when this scrape read the cgroup memory figures, 0 when it could not (the memory gauges are NaN).',
    registers,
    async collect() {
      this.set(await read(() => 1, 0));
    },
  });
  memGauge(
    'memory_working_set_bytes',
    'Working set as cadvisor computes it: usage - inactive_file.',
    (m) => m.workingSet,
  );
  memGauge(
    'memory_usage_bytes',
    'Memory charged to the cgroup (memory.current / usage_in_bytes).',
    (m) => m.usage,
  );
  memGauge(
    'memory_limit_bytes',
    'Effective memory limit; host memory when the cgroup has none.',
    (m) => m.limit ?? m.hostMemory,
  );
  memGauge('memory_limited', '1 when the cgroup has a memory limit, 0 otherwise.', (m) =>
    m.limit === null ? 0 : 1,
  );
  memGauge(
    'memory_high_bytes',
    'Effective cgroup v2 memory.high (the kernel throttles above it); the limit, or host memory, when none is set.',
    (m) => m.high ?? m.limit ?? m.hostMemory,
  );
  memGauge(
    'memory_ceiling_bytes',
    'Lower of memory.high and the limit, which the guard fractions are taken of; host memory when neither is set.',
    (m) => m.ceiling ?? m.hostMemory,
  );
  memGauge('memory_anon_bytes', 'Anonymous memory (heap, malloc arenas).', (m) => m.anon);
  memGauge(
    'memory_active_file_bytes',
    'Page cache on the active LRU (counted in the working set).',
    (m) => m.activeFile,
  );
  memGauge(
    'memory_inactive_file_bytes',
    'Page cache on the inactive LRU (not counted).',
    (m) => m.inactiveFile,
  );
  memGauge('memory_shmem_bytes', 'tmpfs and shared memory charged to the cgroup.', (m) => m.shmem);
  memGauge(
    'memory_oom_kills',
    'OOM kills recorded for the cgroup (memory.events oom_kill).',
    (m) => m.events?.oomKill ?? 0,
  );

  const d = deltas();
  names.push(`${p}memory_high_events_total`);
  new Counter({
    name: `${p}memory_high_events_total`,
    help: 'Times the kernel throttled the cgroup over memory.high (memory.events high of the group that sets it).',
    registers,
    async collect() {
      const n = await read((m) => m.highEvents, null);
      if (n !== null) this.inc(d('high', n));
    },
  });

  const guard = options.guard;
  if (guard !== undefined) registerGuard(guard, p, registers, names);
  const pools = labelPools(options.pools ?? {});
  if (pools.length > 0) registerPools(pools, p, registers, names);

  const taken = names.filter((n) => registry.getSingleMetric(n) !== undefined);
  if (taken.length > 0) {
    throw new RangeError(
      `options.registry already has ${taken.join(', ')}: registerSlabioMetrics was called on it before (call unregister() first, or give options.prefix)`,
    );
  }
  for (const name of names) {
    const metric = staging.getSingleMetric(name);
    if (metric !== undefined) registry.registerMetric(metric);
  }
  return {
    names,
    unregister() {
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

/** Feed a monotonically growing total into a Counter as increments. */
function deltas() {
  const last = new Map<string, number>();
  return (key: string, value: number): number => {
    const d = value - (last.get(key) ?? 0);
    last.set(key, value);
    return Math.max(d, 0);
  };
}

function registerGuard(guard: GuardStatsSource, p: string, registers: Registry[], names: string[]) {
  names.push(`${p}guard_state`);
  new Gauge({
    name: `${p}guard_state`,
    help: 'Memory guard state: 0 ok, 1 soft, 2 hard.',
    registers,
    collect() {
      this.set(STATE[guard.stats().state]);
    },
  });
  names.push(`${p}guard_blind`);
  new Gauge({
    name: `${p}guard_blind`,
    help: '1 while the memory guard cannot read the cgroup: it takes no samples and runs no actions.',
    registers,
    collect() {
      this.set(guard.stats().blind ? 1 : 0);
    },
  });
  const d = deltas();
  names.push(`${p}guard_events_total`);
  new Counter({
    name: `${p}guard_events_total`,
    help: 'Memory guard events: soft action rounds, hard crossings, recoveries.',
    labelNames: ['event'],
    registers,
    collect() {
      const s = guard.stats();
      for (const [event, v] of [
        ['soft', s.softEvents],
        ['hard', s.hardEvents],
        ['recovered', s.recoveries],
      ] as const) {
        this.inc({ event }, d(event, v));
      }
    },
  });
  const counter = (name: string, help: string, pick: (s: GuardStats) => number) => {
    names.push(p + name);
    new Counter({
      name: p + name,
      help,
      registers,
      collect() {
        this.inc(d(name, pick(guard.stats())));
      },
    });
  };
  counter(
    'guard_failed_samples_total',
    'Memory guard samples whose cgroup read failed.',
    (s) => s.failedSamples,
  );
  counter(
    'guard_trimmed_bytes_total',
    'Bytes freed by pool trims the guard ran.',
    (s) => s.trimmedBytes,
  );
  counter(
    'page_cache_drops_total',
    'Files whose page cache the guard dropped.',
    (s) => s.pageCacheDrops,
  );
  counter(
    'guard_malloc_trims_total',
    'malloc_trim calls by the guard that released memory.',
    (s) => s.mallocTrims,
  );
  counter(
    'guard_reclaims_total',
    'memory.reclaim writes by the guard (cgroup v2).',
    (s) => s.reclaimWrites,
  );
}

/** Each pool with its `pool` label: its name where unique, else its key. */
function labelPools(
  pools: Record<string, PoolStatsSource> | readonly PoolStatsSource[],
): Array<[string, PoolStatsSource]> {
  const entries: Array<[string, PoolStatsSource]> = Array.isArray(pools)
    ? pools.map((src, i) => [String(i), src])
    : Object.entries(pools);
  const named = new Map<string, number>();
  for (const [, src] of entries) {
    if (typeof src.name === 'string' && src.name !== '') {
      named.set(src.name, (named.get(src.name) ?? 0) + 1);
    }
  }
  const labelled = entries.map(([key, src]): [string, PoolStatsSource] => {
    const name = src.name;
    return [typeof name === 'string' && named.get(name) === 1 ? name : key, src];
  });
  const seen = new Set<string>();
  for (const [label] of labelled) {
    if (seen.has(label)) {
      throw new RangeError(
        `options.pools: two pools would both be labelled pool="${label}"; give them distinct names or keys`,
      );
    }
    seen.add(label);
  }
  return labelled;
}

function registerPools(
  pools: Array<[string, PoolStatsSource]>,
  p: string,
  registers: Registry[],
  names: string[],
) {
  const gauge = (
    name: string,
    help: string,
    field: 'reservedBytes' | 'inUseBytes' | 'highWaterBytes',
  ) => {
    names.push(p + name);
    new Gauge({
      name: p + name,
      help,
      labelNames: ['pool', 'class'],
      registers,
      collect() {
        this.reset();
        for (const [pool, src] of pools) {
          const s = src.stats();
          this.set({ pool, class: 'all' }, s[field]);
          // A class that never served a lease nor holds a slab has zeros only: leaving it out
          // keeps a default pool (49 classes) from costing 49 series per gauge. Once used, a
          // class stays (its high water never falls), so its series do not come and go.
          for (const c of s.classes) {
            if (c.highWaterBytes > 0 || c.reservedBytes > 0) {
              this.set({ pool, class: String(c.size) }, c[field]);
            }
          }
        }
      },
    });
  };
  gauge(
    'pool_reserved_bytes',
    'Bytes the pool holds (slabs and live oversize buffers).',
    'reservedBytes',
  );
  gauge('pool_in_use_bytes', 'Bytes leased now.', 'inUseBytes');
  gauge('pool_high_water_bytes', 'Most bytes ever held at once.', 'highWaterBytes');
  const d = deltas();
  const counter = (name: string, help: string, field: 'leaks' | 'oversize') => {
    names.push(p + name);
    new Counter({
      name: p + name,
      help,
      labelNames: ['pool'],
      registers,
      collect() {
        for (const [pool, src] of pools)
          this.inc({ pool }, d(`${name}:${pool}`, src.stats()[field]));
      },
    });
  };
  counter('pool_leaks_total', 'Leases collected without release().', 'leaks');
  counter('pool_oversize_total', 'Requests above the largest size class.', 'oversize');
}
