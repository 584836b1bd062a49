/**
 * Types of the memory guard: its options, samples, events and counters.
 *
 * @module
 */
import type { GuardBlindness } from './blindness.js';
import type { CgroupMemory, ReadCgroupMemoryOptions } from './cgroup.js';
import type { PageCacheRegistry } from './page-cache-registry.js';
import type { ReliefReport } from './relief.js';
import type { GuardThrottle } from './throttle.js';
import type { GuardWakeMode } from './wake.js';

/** Anything with a `trim()` that returns the bytes it freed, such as a `BufferPool`. */
export interface TrimmablePool {
  /** Drop idle memory now; returns bytes freed. */
  trim(): number;
}

/** Guard state: below soft, at/above soft, at/above hard. */
export type GuardState = 'ok' | 'soft' | 'hard';

/** What the guard saw at one sample. */
export interface GuardSample {
  /** The cgroup snapshot. */
  memory: CgroupMemory;
  /** State after this sample. */
  state: GuardState;
  /**
   * Bytes the fractions were taken of: the cgroup's ceiling (the lower of `memory.high` and the
   * limit, {@link CgroupMemory.ceiling}), else `options.limit`, else host memory.
   */
  baseBytes: number;
  /** Soft threshold in bytes. */
  softBytes: number;
  /** Hard threshold in bytes (of `baseBytes`, or of the limit with `hardBase: 'limit'`). */
  hardBytes: number;
  /** `memory.high` throttle events since the previous good sample (0 at the first). */
  newHighEvents: number;
  /** Hysteresis in bytes: a state is left only this far below its threshold. */
  hysteresisBytes: number;
}

/**
 * Payload of `'recovered'`: the sample that took the guard a step down, and the step. `to` is
 * also the sample's `state`.
 */
export interface GuardRecovery extends GuardSample {
  /** The state left: `'hard'` or `'soft'`. */
  from: Exclude<GuardState, 'ok'>;
  /** The state entered: `'soft'` (only from `'hard'`) or `'ok'`. */
  to: Exclude<GuardState, 'hard'>;
}

/** Payload of `'unblind'`: the first good sample after failed reads, and the streak it ended. */
export interface GuardUnblind {
  /** The good sample (also emitted as `'sample'` right after). */
  sample: GuardSample;
  /** `Date.now()` of the first failed read of the streak. */
  since: number;
  /** Failed reads in the streak. */
  failedSamples: number;
}

/** Options of {@link MemoryGuard}. */
export interface MemoryGuardOptions {
  /**
   * Soft threshold on the working set: fraction of the ceiling (≤ 1) or bytes (> 1). The
   * ceiling is the lower of cgroup v2 `memory.high` and the limit: the kernel throttles above
   * `memory.high`, so relief has to come before it.
   * @default 0.8
   */
  soft?: number;
  /** Hard threshold: fraction of the ceiling (≤ 1, see `hardBase`) or bytes (> 1). @default 0.95 */
  hard?: number;
  /**
   * What a fractional `hard` is taken of. `'ceiling'`: the lower of `memory.high` and the limit,
   * like `soft`. Over `memory.high` the kernel does not kill, it throttles every allocation and
   * holds usage near `memory.high`, so a working set seldom gets near the limit: a hard
   * threshold there would leave a crawling service in rotation. `'limit'`: of the limit (the
   * OOM kill), for a worker that would rather run slowly than restart.
   * @default 'ceiling'
   */
  hardBase?: 'ceiling' | 'limit';
  /**
   * How far below a threshold the working set must fall before the state is left, so the guard
   * does not flap: `'hard'` lasts until the working set is below `hard − hysteresis`, `'soft'`
   * until below `soft − hysteresis`. Fraction of the limit (≤ 1) or bytes (> 1).
   * @default 0.05
   */
  hysteresis?: number;
  /**
   * Sampling interval in ms. `0`: the guard samples only when `sample()` is called (no timer and
   * no wake-up thread), so what it does follows from those calls alone. @default 1000
   */
  intervalMs?: number;
  /** Least time between two rounds of soft actions while the working set stays high. @default 10000 */
  cooldownMs?: number;
  /** Pools to `trim()` at the soft threshold. @default [] */
  pools?: TrimmablePool[];
  /** Called after each round of soft actions with what they did. */
  onSoft?: (report: ReliefReport) => void;
  /**
   * Called once each time the hard threshold is crossed: stop taking work, drain, exit. Not
   * called again until the guard has left `'hard'` (below `hard − hysteresis`) and crossed anew.
   * When the wake-up ({@link MemoryGuardOptions.wake}) reports the crossing, the sample's `usage`,
   * `inactiveFile`, `workingSet` and `headroom` are what its thread just read, and the other
   * figures come from the previous full read; a full sample follows at once.
   */
  onHard?: (sample: GuardSample) => void;
  /** Aborting closes the guard. */
  signal?: AbortSignal;
  /**
   * Bytes fractions refer to when the cgroup has no limit.
   * @default the host's memory
   */
  limit?: number;
  /**
   * Options for `readCgroupMemory` (root, file reader, `cgroupDir` to watch another group). A
   * `readFile` here is how tests make the cgroup unreadable, malformed or vanish.
   */
  reader?: ReadCgroupMemoryOptions;
  /** Files whose page cache may be dropped. @default the registry `trackFile()` fills */
  registry?: PageCacheRegistry;
  /** Drops one file's page cache; `false` disables. @default slabio's `dropCache` (native addon) */
  dropCache?: ((file: string) => Promise<unknown>) | false;
  /** Returns freed malloc memory to the OS; `false` disables. @default slabio's `mallocTrim` */
  mallocTrim?: (() => boolean) | false;
  /** Write `memory.reclaim` on cgroup v2 when it is writable. @default true */
  reclaim?: boolean;
  /** Let the process exit while the guard's timer runs. @default true */
  unref?: boolean;
  /**
   * Wake up as soon as the working set reaches the next threshold instead of waiting for the
   * next `intervalMs` sample: a native thread watches the cgroup's usage (cgroup v1 usage
   * thresholds through `cgroup.event_control`, else a re-read of the usage file every 5 ms) and
   * the guard samples when it calls. Needs the native addon and a timer (`intervalMs` > 0); off
   * when `reader.readFile` is given. The thread never keeps the process alive; `close()` stops it.
   * See {@link GuardStats.wake}.
   * @default true
   */
  wake?: boolean;
}

/** Counters since the guard was created. */
export interface GuardStats {
  /** State at the last good sample (reads that fail leave it as it was). */
  state: GuardState;
  /** Good samples: cgroup reads that succeeded and were acted on. */
  samples: number;
  /** Cgroup reads that failed (missing controller, permissions, a vanished file, a malformed number). */
  failedSamples: number;
  /**
   * `true` from a failed read until the next good one: the guard sees nothing, runs no soft or
   * hard actions, and `ready()` keeps the answer of its last good sample.
   */
  blind: boolean;
  /** `Date.now()` of the first failed read of the current streak, `null` while not blind. */
  blindSince: number | null;
  /** The error of the most recent failed read (kept after recovery), `null` if none failed. */
  lastError: unknown;
  softEvents: number;
  hardEvents: number;
  /** Steps down (hard → soft, hard → ok, soft → ok), each one `'recovered'` event. */
  recoveries: number;
  /** Bytes freed by pool `trim()` calls in total. */
  trimmedBytes: number;
  /** `malloc_trim` calls that released memory. */
  mallocTrims: number;
  /** Files whose page cache was dropped, counted per drop. */
  pageCacheDrops: number;
  /** Failed drops (other than vanished files). */
  pageCacheDropErrors: number;
  /**
   * How the guard notices a threshold now: `'eventfd'` (cgroup v1 usage thresholds wake a native
   * thread), `'poll'` (a native thread re-reads the usage file every 5 ms), `'timer'` (only the
   * `intervalMs` samples: no native addon, `wake: false`, no cgroup, or before the first read).
   */
  wake: GuardWakeMode;
  /** Times the native thread woke the guard for a sample. */
  wakeups: number;
  /** Successful `memory.reclaim` writes. */
  reclaimWrites: number;
  /** Why `memory.reclaim` is not used (`EROFS`, `EACCES`, `cgroup v1` …), `null` while it may be. */
  reclaimUnavailable: string | null;
  /** The last sample, `null` before the first. */
  last: GuardSample | null;
  /** The kernel's `memory.high` throttle counter at the last sample that had one ({@link CgroupMemory.highEvents}). */
  highEvents: number | null;
  /** Throttle events the guard saw happen (increases of `highEvents` since it started). */
  newHighEvents: number;
}

/** Events of {@link MemoryGuard}. */
export interface MemoryGuardEvents {
  /** Every good sample. */
  sample: [GuardSample];
  /** Each round of soft actions. */
  soft: [ReliefReport];
  /** Each crossing of the hard threshold. */
  hard: [GuardSample];
  /** A sample whose `memory.high` throttle counter grew: the kernel is holding the service back. */
  throttled: [GuardThrottle];
  /** Each step down: hard → soft, hard → ok, soft → ok. */
  recovered: [GuardRecovery];
  /** The first failed cgroup read after a good one, or the first read of all failing. */
  blind: [GuardBlindness];
  /** The first good read after failed ones, before its `'sample'`. */
  unblind: [GuardUnblind];
  /** A failed timer sample (read or callback); emitted only while a listener is attached. */
  error: [unknown];
}
