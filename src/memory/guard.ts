/**
 * Acts on the container's working set before the OOM killer does: at a soft threshold it gives
 * memory back (pools, malloc, page cache, `memory.reclaim`); at a hard threshold it tells the
 * service to drain and exit. Kubernetes runs no preStop hook on an OOM kill, so the process has to
 * notice by itself.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { debug } from '../debug.js';
import { mallocTrim as nativeMallocTrim } from '../native/index.js';
import { type CgroupMemory, type ReadCgroupMemoryOptions, readCgroupMemory } from './cgroup.js';
import { defaultPageCacheRegistry, type PageCacheRegistry } from './page-cache-registry.js';
import { type ReliefReport, type ReliefTools, relieve } from './relief.js';
import { checkOrder, checkThreshold, resolveThreshold } from './thresholds.js';

export type { ReliefReport } from './relief.js';

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
  /** Bytes the fractions were taken of: the cgroup limit, else `options.limit`, else host memory. */
  baseBytes: number;
  /** Soft threshold in bytes. */
  softBytes: number;
  /** Hard threshold in bytes. */
  hardBytes: number;
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

/** Options of {@link MemoryGuard}. */
export interface MemoryGuardOptions {
  /** Soft threshold on the working set: fraction of the limit (≤ 1) or bytes (> 1). @default 0.8 */
  soft?: number;
  /** Hard threshold: fraction of the limit (≤ 1) or bytes (> 1). @default 0.95 */
  hard?: number;
  /**
   * How far below a threshold the working set must fall before the state is left, so the guard
   * does not flap: `'hard'` lasts until the working set is below `hard − hysteresis`, `'soft'`
   * until below `soft − hysteresis`. Fraction of the limit (≤ 1) or bytes (> 1).
   * @default 0.05
   */
  hysteresis?: number;
  /** Sampling interval in ms; `0` starts no timer (call `sample()` yourself). @default 1000 */
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
   */
  onHard?: (sample: GuardSample) => void;
  /** Aborting closes the guard. */
  signal?: AbortSignal;
  /**
   * Bytes fractions refer to when the cgroup has no limit.
   * @default the host's memory
   */
  limit?: number;
  /** Options for `readCgroupMemory` (root, file reader, `cgroupDir` to watch another group). */
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
}

/** Counters since the guard was created. */
export interface GuardStats {
  state: GuardState;
  samples: number;
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
  /** Successful `memory.reclaim` writes. */
  reclaimWrites: number;
  /** Why `memory.reclaim` is not used (`EROFS`, `EACCES`, `cgroup v1` …), `null` while it may be. */
  reclaimUnavailable: string | null;
  /** The last sample, `null` before the first. */
  last: GuardSample | null;
}

/** Events of {@link MemoryGuard}. */
export interface MemoryGuardEvents {
  sample: [GuardSample];
  soft: [ReliefReport];
  hard: [GuardSample];
  recovered: [GuardRecovery];
  error: [unknown];
}

async function defaultDropCache(): Promise<((file: string) => Promise<unknown>) | null> {
  try {
    const fs = await import('../fs/index.js');
    return (file: string) => fs.dropCache(file);
  } catch (err) {
    debug('memory guard: no dropCache available: %s', (err as Error).message);
    return null;
  }
}

/**
 * Samples the cgroup's working set and acts at two thresholds, with hysteresis.
 *
 * - **soft**: trims `pools`, calls `malloc_trim`, drops the page cache of tracked files
 *   ({@link trackFile}) and, on cgroup v2, writes `memory.reclaim` (quietly off where the file is
 *   read-only); then emits `'soft'` and calls `onSoft`. Repeats at most every `cooldownMs`.
 * - **hard**: emits `'hard'` and calls `onHard` once per crossing; `ready()` is false while hard.
 * - A state is left only below its threshold minus `hysteresis`: `'hard'` below
 *   `hard − hysteresis` (to `'soft'`, or `'ok'` if also below `soft − hysteresis`), `'soft'` below
 *   `soft − hysteresis`. Every such step down emits `'recovered'` with `from` and `to`
 *   ({@link GuardRecovery}) and counts in `stats().recoveries`. A climb back to `hard` after
 *   that is a new crossing: `'hard'` and `onHard` again.
 *
 * Errors thrown by `onSoft`/`onHard` reject `sample()`; from the timer they are emitted as `'error'`.
 *
 * @throws {RangeError} for a bad threshold, interval or limit, or `soft` ≥ `hard`.
 * @example
 * ```ts
 * const guard = new MemoryGuard({ soft: 0.8, hard: 0.92, pools: [pool], onHard: () => drainAndExit(server) });
 * guard.on('soft', (r) => log.info(r, 'memory relieved'));
 * ```
 */
export class MemoryGuard extends EventEmitter<MemoryGuardEvents> {
  readonly #soft: number;
  readonly #hard: number;
  readonly #hysteresis: number;
  readonly #intervalMs: number;
  readonly #cooldownMs: number;
  readonly #options: MemoryGuardOptions;
  readonly #tools: ReliefTools;
  #state: GuardState = 'ok';
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #running: Promise<GuardSample> | null = null;
  #lastRelief = Number.NEGATIVE_INFINITY;
  #dropCacheResolved = false;
  readonly #stats: Omit<GuardStats, 'state' | 'last'> = {
    samples: 0,
    softEvents: 0,
    hardEvents: 0,
    recoveries: 0,
    trimmedBytes: 0,
    mallocTrims: 0,
    pageCacheDrops: 0,
    pageCacheDropErrors: 0,
    reclaimWrites: 0,
    reclaimUnavailable: null,
  };
  #last: GuardSample | null = null;

  constructor(options: MemoryGuardOptions = {}) {
    super();
    this.#soft = checkThreshold('soft', options.soft ?? 0.8);
    this.#hard = checkThreshold('hard', options.hard ?? 0.95);
    this.#hysteresis = checkThreshold('hysteresis', options.hysteresis ?? 0.05, true);
    checkOrder(this.#soft, this.#hard);
    this.#intervalMs = nonNegative('intervalMs', options.intervalMs ?? 1000);
    this.#cooldownMs = nonNegative('cooldownMs', options.cooldownMs ?? 10_000);
    if (options.limit !== undefined && !(options.limit > 0)) {
      throw new RangeError(
        `options.limit must be a positive number of bytes, got ${options.limit}`,
      );
    }
    this.#options = options;
    this.#tools = {
      pools: options.pools ?? [],
      registry: options.registry ?? defaultPageCacheRegistry,
      dropCache: options.dropCache === false ? null : (options.dropCache ?? null),
      mallocTrim: options.mallocTrim === false ? null : (options.mallocTrim ?? nativeMallocTrim),
      reclaim: options.reclaim ?? true,
      stats: this.#stats,
    };
    // The default dropCache is looked up on first use only when the caller did not choose.
    this.#dropCacheResolved = options.dropCache !== undefined;
    if (options.signal?.aborted) this.#closed = true;
    else options.signal?.addEventListener('abort', () => this.close(), { once: true });
    if (!this.#closed && this.#intervalMs > 0) this.#schedule();
  }

  /** Current state. */
  get state(): GuardState {
    return this.#state;
  }

  /**
   * `false` while the state is `'hard'` (from the crossing until the working set falls below
   * `hard − hysteresis`) and after `close()`.
   */
  ready(): boolean {
    return !this.#closed && this.#state !== 'hard';
  }

  /** Counters and the last sample. */
  stats(): GuardStats {
    return { ...this.#stats, state: this.#state, last: this.#last };
  }

  /**
   * Take one sample now and act on it. Concurrent calls share one sample.
   *
   * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the cgroup files cannot be read.
   */
  sample(): Promise<GuardSample> {
    this.#running ??= this.#sample().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Stop sampling. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** `close()`, for `using guard = new MemoryGuard()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.sample()
        .catch((err: unknown) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
          else debug('memory guard: sample failed: %s', (err as Error)?.message);
        })
        .finally(() => {
          if (!this.#closed) this.#schedule();
        });
    }, this.#intervalMs);
    if (this.#options.unref ?? true) this.#timer.unref();
  }

  async #read(): Promise<CgroupMemory> {
    return readCgroupMemory(this.#options.reader);
  }

  #measure(memory: CgroupMemory): Omit<GuardSample, 'state'> {
    const baseBytes = memory.limit ?? this.#options.limit ?? memory.hostMemory;
    return {
      memory,
      baseBytes,
      softBytes: resolveThreshold(this.#soft, baseBytes),
      hardBytes: resolveThreshold(this.#hard, baseBytes),
      hysteresisBytes: resolveThreshold(this.#hysteresis, baseBytes),
    };
  }

  #next(ws: number, m: Omit<GuardSample, 'state'>): GuardState {
    const { softBytes, hardBytes, hysteresisBytes } = m;
    if (ws >= hardBytes) return 'hard';
    if (this.#state === 'hard' && ws >= hardBytes - hysteresisBytes) return 'hard';
    if (ws >= softBytes) return 'soft';
    if (this.#state !== 'ok' && ws >= softBytes - hysteresisBytes) return 'soft';
    return 'ok';
  }

  async #sample(): Promise<GuardSample> {
    const memory = await this.#read();
    const m = this.#measure(memory);
    const prev = this.#state;
    this.#state = this.#next(memory.workingSet, m);
    const sample: GuardSample = { ...m, state: this.#state };
    this.#last = sample;
    this.#stats.samples++;
    this.emit('sample', sample);
    if (rank(this.#state) < rank(prev)) {
      this.#stats.recoveries++;
      // Back to ok: the next climb acts at once instead of waiting out the cooldown.
      if (this.#state === 'ok') this.#lastRelief = Number.NEGATIVE_INFINITY;
      const recovery: GuardRecovery = {
        ...sample,
        from: prev as GuardRecovery['from'],
        to: this.#state as GuardRecovery['to'],
      };
      this.emit('recovered', recovery);
    }
    if (this.#state === 'ok') return sample;
    if (this.#state === 'hard' && prev !== 'hard') {
      this.#stats.hardEvents++;
      this.emit('hard', sample);
      this.#options.onHard?.(sample);
    }
    // Act only while at/above soft (not in the hysteresis band), at most once per cooldown.
    const now = performance.now();
    if (memory.workingSet >= m.softBytes && now - this.#lastRelief >= this.#cooldownMs) {
      this.#lastRelief = now;
      await this.#relieve(sample);
    }
    return sample;
  }

  async #relieve(sample: GuardSample): Promise<void> {
    if (!this.#dropCacheResolved) {
      this.#dropCacheResolved = true;
      this.#tools.dropCache = await defaultDropCache();
    }
    const report = await relieve(sample, this.#tools, () => this.#read());
    this.#stats.softEvents++;
    this.emit('soft', report);
    this.#options.onSoft?.(report);
  }
}

const RANKS: Record<GuardState, number> = { ok: 0, soft: 1, hard: 2 };

function rank(state: GuardState): number {
  return RANKS[state];
}

function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`options.${name} must be a non-negative number, got ${String(v)}`);
  }
  return v;
}
