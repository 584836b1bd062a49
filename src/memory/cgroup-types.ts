/**
 * Types of `readCgroupMemory`: its options and the snapshot it returns.
 *
 * @module
 */
import type { ReadTextFile } from './cgroup-locate.js';
import type { Pressure } from './cgroup-parse.js';

/** Options of {@link readCgroupMemory}. */
export interface ReadCgroupMemoryOptions {
  /**
   * Filesystem root that `/proc` and `/sys/fs/cgroup` are looked up under; tests point it at a
   * fixture tree.
   * @default '/'
   */
  root?: string;
  /**
   * Reads a text file. Injectable for tests; must reject with an fs-style `code` (`ENOENT`).
   * @default fs.promises.readFile(file, { encoding: 'utf8', signal })
   */
  readFile?: ReadTextFile;
  /**
   * Read this cgroup directory instead of the caller's own group (a sidecar watching the app, a
   * test watching a child). The version is detected from the files present.
   * @default the group found in `/proc/self/cgroup`
   */
  cgroupDir?: string;
  /**
   * Host memory in bytes; any limit at or above it counts as "no limit".
   * @default `MemTotal` of `<root>/proc/meminfo`, else `os.totalmem()`
   */
  hostMemory?: number;
  /** Platform to behave as; anything but `linux` reports `os` figures. @default process.platform */
  platform?: NodeJS.Platform;
  /** Aborts the read; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** `memory.events` counters (v2) or their v1 equivalents; `null` where the kernel has none. */
export interface MemoryEvents {
  /** Times the group hit its limit and an allocation was about to fail (v2 `oom`). */
  oom: number | null;
  /** Processes killed by the OOM killer (v2 `oom_kill`, v1 `memory.oom_control` `oom_kill`). */
  oomKill: number | null;
  /**
   * Times tasks were throttled and sent to direct reclaim because this group or one of its
   * descendants was over its `memory.high` (v2 `high`; hierarchical like every counter here).
   * Throttling by an ancestor's `memory.high` is counted in the ancestor, see
   * {@link CgroupMemory.highEvents}.
   */
  high: number | null;
  /** Times usage was about to go over the limit (v2 `max`, v1 `memory.failcnt`). */
  max: number | null;
}

/** A snapshot of the memory figures that decide whether a container gets OOM-killed. All in bytes. */
export interface CgroupMemory {
  /**
   * Where the figures come from. `host-meminfo` / `host-os` mean no memory cgroup was found and
   * the numbers describe the whole machine, not a container.
   */
  source: 'cgroup-v1' | 'cgroup-v2' | 'host-meminfo' | 'host-os';
  /** Cgroup version, `null` for host figures. */
  version: 1 | 2 | null;
  /** Cgroup path as the kernel names it (`/kubepods/…`), `null` for host figures. */
  path: string | null;
  /** Directory the files were read from, `null` for host figures. */
  dir: string | null;
  /** Charged memory: v2 `memory.current`, v1 `memory.usage_in_bytes`, host `MemTotal − MemFree`. */
  usage: number;
  /**
   * Effective limit (lowest of the group and its ancestors), `null` when there is none in
   * effect: v2 `max`; the value a v1 kernel prints for "no limit" (`PAGE_COUNTER_MAX × PAGE_SIZE`
   * = 2^63 − PAGE_SIZE on 64-bit kernels: 9223372036854771712 with 4 KiB pages,
   * 9223372036854710272 with 64 KiB pages; 2^63 − 1 or 2^64 − 1 on kernels before 3.19); and any
   * limit at or above `hostMemory`, which cannot bind before the host itself runs out.
   */
  limit: number | null;
  /**
   * Effective throttle limit (v2 `memory.high`, the lowest of the group and its visible
   * ancestors), `null` when it is `max` everywhere, absent, at or above `hostMemory`, or on v1
   * and host figures. Above it the kernel throttles every allocating task and reclaims hard; it
   * never OOM-kills there. Kubernetes Memory QoS sets it to
   * `request + 0.9 × (limit − request)`. May be above `limit`, then it never binds.
   *
   * v1 has no equivalent: `memory.soft_limit_in_bytes` is no throttle but a reclaim priority
   * under host-wide memory pressure (a group may sit above it for ever while the host has free
   * memory), so it is not reported.
   */
  high: number | null;
  /**
   * Where the kernel starts to hold the group back: the lower of `high` and `limit`, `null`
   * when neither is set. `MemoryGuard`'s fractions are taken of it.
   */
  ceiling: number | null;
  /**
   * Throttle events of the effective `high`: the `high` counter of `memory.events` in the group
   * whose `memory.high` is `high` (an ancestor's when it is set there, since the kernel counts
   * an event in the group that is over its `memory.high`, not in its descendants). When `high`
   * is `null`, the group's own `events.high`. `null` without a counter (v1, host, no
   * `memory.events`). It grows while the service is throttled: watch its increase.
   */
  highEvents: number | null;
  /** Host memory used to decide "unlimited". */
  hostMemory: number;
  /** Anonymous memory (heap, stacks, malloc arenas). v1: `total_rss`. */
  anon: number;
  /** Page cache charged to the group, including tmpfs/shmem. v1: `total_cache`. */
  file: number;
  /** Page cache on the active LRU: counted fully in the working set. */
  activeFile: number;
  /** Page cache on the inactive LRU: the only part the working set leaves out. */
  inactiveFile: number;
  /** tmpfs / shared memory: file pages that cannot be dropped, only deleted. */
  shmem: number;
  /** Page cache modified and not yet written back. */
  dirty: number;
  /** Page cache being written back now. */
  writeback: number;
  /** Reclaimable kernel slab (dentries, inodes); v2 and host only. */
  slabReclaimable?: number;
  /** cadvisor's `container_memory_working_set_bytes`: `max(0, usage − inactiveFile)`. */
  workingSet: number;
  /** `limit − workingSet` floored at 0, `null` when unlimited (the room before the OOM killer). */
  headroom: number | null;
  /** OOM and limit counters, `null` when the files are absent. */
  events: MemoryEvents | null;
  /** Pressure stall information, `null` when absent (kernel without PSI). */
  pressure: Pressure | null;
  /** `Date.now()` when the snapshot was taken. */
  timestamp: number;
}
