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
import { Blindness } from './blindness.js';
import { type CgroupMemory, readCgroupMemory } from './cgroup.js';
import {
  defaultDropCache,
  type GuardLevels,
  type GuardSettings,
  isStepDown,
  levelsOf,
  nextState,
  resolveGuardOptions,
} from './guard-options.js';
import type {
  GuardRecovery,
  GuardSample,
  GuardState,
  GuardStats,
  MemoryGuardEvents,
  MemoryGuardOptions,
} from './guard-types.js';
import { type ReliefTools, reliefCounters, relieve } from './relief.js';
import { ThrottleCounter } from './throttle.js';
import { GuardWake, wakeReading } from './wake.js';

/**
 * Samples the cgroup's working set and acts at two thresholds, with hysteresis. Fractions are
 * of the ceiling ({@link CgroupMemory.ceiling}): the lower of cgroup v2 `memory.high`, where the
 * kernel starts throttling, and the limit (see `hardBase`).
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
 * - **throttled**: a sample whose `memory.high` throttle counter grew emits `'throttled'`
 *   ({@link GuardThrottle}); the first reading is a baseline.
 * - **blind**: a cgroup read that fails (no memory controller, no permission, a file that
 *   vanished, a malformed number: a `CgroupError`) is no sample. The state stays as it was, no
 *   action runs, `stats()` counts `failedSamples` and sets `blind`, `blindSince`, `lastError`,
 *   and the first failure of a streak emits `'blind'` ({@link GuardBlindness}). The next good
 *   read emits `'unblind'` ({@link GuardUnblind}) and sampling goes on as before. See
 *   {@link MemoryGuard.ready} for readiness while blind.
 *
 * - **wake-up**: besides the `intervalMs` timer, a native thread watches the cgroup and has the
 *   guard sample as soon as the working set reaches the next threshold (cgroup v1 usage
 *   thresholds, else a 5 ms re-read of the usage file; {@link GuardStats.wake}). `onHard` then
 *   runs within milliseconds of the crossing, as soon as the event loop is free.
 *
 * Errors thrown by `onSoft`/`onHard` and failed reads reject `sample()`. From the timer they are
 * emitted as `'error'`, but only while an `'error'` listener is attached: the guard never emits
 * an `'error'` nobody handles (that would end the process). Without one, a blind guard emits a
 * single `SLABIO_GUARD_BLIND` process warning for its life (none if a `'blind'` listener is
 * attached), and keeps sampling.
 *
 * @throws {RangeError} for a bad threshold, interval or limit, or `soft` ≥ `hard`.
 * @example
 * ```ts
 * const guard = new MemoryGuard({ soft: 0.8, hard: 0.92, pools: [pool], onHard: () => drainAndExit(server) });
 * guard.on('soft', (r) => log.info(r, 'memory relieved'));
 * guard.on('blind', (b) => log.error(b.error, 'memory guard cannot read the cgroup'));
 * ```
 */
export class MemoryGuard extends EventEmitter<MemoryGuardEvents> {
  readonly #settings: GuardSettings;
  readonly #tools: ReliefTools;
  #state: GuardState = 'ok';
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #running: Promise<GuardSample> | null = null;
  #lastRelief = Number.NEGATIVE_INFINITY;
  #dropCacheResolved = false;
  #wake: GuardWake | null = null;
  #levels: GuardLevels | null = null;
  #memory: CgroupMemory | null = null;
  #relieving = false;
  readonly #blindness = new Blindness();
  readonly #throttle = new ThrottleCounter();
  readonly #stats = { samples: 0, wakeups: 0, ...reliefCounters() };
  #last: GuardSample | null = null;

  constructor(options: MemoryGuardOptions = {}) {
    super();
    const s = resolveGuardOptions(options);
    this.#settings = s;
    this.#tools = { ...s.tools, dropCache: s.tools.dropCache ?? null, stats: this.#stats };
    this.#dropCacheResolved = s.tools.dropCache !== undefined;
    if (s.signal?.aborted) this.#closed = true;
    else s.signal?.addEventListener('abort', () => this.close(), { once: true });
    if (!this.#closed && s.intervalMs > 0) {
      this.#schedule();
      // An injected readFile means the figures are not the kernel's files: nothing to watch.
      if (s.wake && s.reader?.readFile === undefined) void this.#startWake();
    }
  }

  /** Current state. */
  get state(): GuardState {
    return this.#state;
  }

  /**
   * `false` while the state is `'hard'` (from the crossing until the working set falls below
   * `hard − hysteresis`) and after `close()`.
   *
   * A failed cgroup read never makes it `false`: while blind ({@link GuardStats.blind}) it keeps
   * the answer of the last good sample, `true` if there was none. Failing open keeps a fault
   * that hits every pod at once (a missing memory controller, a changed file format) from
   * taking them all out of rotation; the guard says so instead (`'blind'`, one
   * `SLABIO_GUARD_BLIND` warning, `stats().blind`). A service that wants to leave rotation while
   * blind checks `guard.stats().blind` in its own readiness check.
   */
  ready(): boolean {
    return !this.#closed && this.#state !== 'hard';
  }

  /** Counters and the last sample. */
  stats(): GuardStats {
    const b = this.#blindness;
    return {
      ...this.#stats,
      failedSamples: b.failedSamples,
      blind: b.blind,
      blindSince: b.since,
      lastError: b.lastError,
      wake: this.#wake?.mode ?? 'timer',
      state: this.#state,
      last: this.#last,
      highEvents: this.#throttle.last,
      newHighEvents: this.#throttle.total,
    };
  }

  /**
   * Take one sample now and act on it. Concurrent calls share one sample.
   *
   * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the cgroup files cannot be read (the guard is
   * then blind, see {@link GuardStats.blind}).
   */
  sample(): Promise<GuardSample> {
    this.#running ??= this.#sample().finally(() => {
      this.#running = null;
      this.#arm();
    });
    return this.#running;
  }

  /**
   * Stop the guard: clear the `intervalMs` timer and stop the native wake-up thread (closing its
   * descriptors), so the guard no longer samples on its own. From then on
   * `ready()` is `false`. Aborting `options.signal` calls it. Idempotent: later calls do nothing.
   *
   * It does not wait for or cancel a sample already running (its actions, `onSoft`/`onHard` and
   * events still happen), does not remove listeners, and does not close, trim or release the
   * `pools`, the page-cache registry or anything else the guard was given. An explicit `sample()`
   * after `close()` still reads the cgroup and acts.
   *
   * @example
   * ```ts
   * server.on('close', () => guard.close());
   * ```
   */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#wake?.close();
    this.#wake = null;
  }

  /** `close()`, for `using guard = new MemoryGuard()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.sample()
        .catch((err: unknown) => this.#report(err))
        .finally(() => {
          if (!this.#closed) this.#schedule();
        });
    }, this.#settings.intervalMs);
    if (this.#settings.unref) this.#timer.unref();
  }

  // Failures of samples nobody awaits: the timer's and the wake-up's.
  #report(err: unknown): void {
    // An 'error' without a listener would throw from a timer and end the process.
    if (this.listenerCount('error') > 0) {
      this.emit('error', err);
      return;
    }
    debug('memory guard: sample failed: %s', (err as Error)?.message);
    if (this.#blindness.blind && this.listenerCount('blind') === 0) this.#blindness.warnOnce();
  }

  // The native thread needs the cgroup's directory and the thresholds in bytes: one read (not a
  // sample: nothing is acted on) finds both. Where it fails the timer alone samples.
  async #startWake(): Promise<void> {
    let memory: CgroupMemory;
    try {
      memory = await this.#read();
    } catch (err) {
      debug('memory guard: no wake-up, cgroup unreadable: %s', (err as Error).message);
      return;
    }
    if (this.#closed) return;
    this.#memory ??= memory;
    this.#wake = GuardWake.open(memory, (usage, ws, errno) => this.#woken(usage, ws, errno));
    this.#levels ??= levelsOf(this.#settings, memory);
    this.#arm();
  }

  #woken(usage: number, workingSet: number, errno: number): void {
    if (this.#closed) return;
    if (errno !== 0) {
      // The group vanished or its usage file became unreadable: the timer's samples say so.
      debug('memory guard: wake-up stopped (errno %d), sampling on the timer only', errno);
      this.#wake?.close();
      this.#wake = null;
      return;
    }
    this.#stats.wakeups++;
    const last = this.#memory;
    const hard =
      this.#state === 'soft' &&
      last !== null &&
      workingSet >= (this.#levels?.hardBytes ?? Number.POSITIVE_INFINITY);
    // A sample already running re-arms the thread when it ends, which calls back again at once
    // if the working set is still at the level: no wake-up is lost by skipping this one. Except
    // a crossing of hard during soft actions (dropping page cache can take a while): that one
    // cannot wait, and the running sample has already set its state.
    if (this.#running !== null && !(hard && this.#relieving)) return;
    if (hard && last !== null) {
      // Hard is where every millisecond counts (at 400 MiB/s the last 5% of 256 MiB last 32 ms):
      // act on the thread's reading of usage and inactive file now, without the several async
      // reads of a full sample, then confirm with one.
      const fast = this.#apply(wakeReading(last, usage, workingSet), null);
      const confirm = () => {
        if (!this.#closed) this.sample().catch((err: unknown) => this.#report(err));
      };
      if (this.#running === null) {
        this.#running = fast.finally(() => {
          this.#running = null;
          confirm();
        });
      } else {
        fast.then(confirm, () => {});
      }
      fast.catch((err: unknown) => this.#report(err));
      return;
    }
    this.sample().catch((err: unknown) => this.#report(err));
  }

  // Arm the thread at the next threshold above the state; 'hard' waits for the timer to see the
  // way down (hysteresis) before a new crossing can matter.
  #arm(): void {
    if (this.#wake === null || this.#levels === null || this.#closed) return;
    const { softBytes, hardBytes } = this.#levels;
    const level = this.#state === 'ok' ? softBytes : this.#state === 'soft' ? hardBytes : null;
    this.#wake.arm(level, [softBytes, hardBytes]);
  }

  async #read(): Promise<CgroupMemory> {
    return readCgroupMemory(this.#settings.reader);
  }

  async #sample(): Promise<GuardSample> {
    let memory: CgroupMemory;
    try {
      memory = await this.#read();
    } catch (err) {
      const blind = this.#blindness.fail(err);
      if (blind !== null) this.emit('blind', blind);
      throw err;
    }
    return this.#apply(memory, this.#blindness.succeed());
  }

  async #apply(
    memory: CgroupMemory,
    unblind: ReturnType<Blindness['succeed']>,
  ): Promise<GuardSample> {
    this.#memory = memory;
    const m = levelsOf(this.#settings, memory);
    this.#levels = m;
    const prev = this.#state;
    this.#state = nextState(prev, memory.workingSet, m);
    const newHighEvents = this.#throttle.observe(memory.highEvents);
    const sample: GuardSample = { ...m, state: this.#state, newHighEvents };
    this.#last = sample;
    this.#stats.samples++;
    if (unblind !== null) this.emit('unblind', { ...unblind, sample });
    this.emit('sample', sample);
    if (newHighEvents > 0) {
      const { high, workingSet, highEvents } = memory;
      this.emit('throttled', {
        highEvents: highEvents ?? 0,
        increase: newHighEvents,
        high,
        workingSet,
      });
    }
    if (isStepDown(prev, this.#state)) {
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
      this.#settings.onHard?.(sample);
    }
    // Act only while at/above soft (not in the hysteresis band), at most once per cooldown.
    const now = performance.now();
    if (memory.workingSet >= m.softBytes && now - this.#lastRelief >= this.#settings.cooldownMs) {
      this.#lastRelief = now;
      this.#relieving = true;
      try {
        await this.#relieve(sample);
      } finally {
        this.#relieving = false;
      }
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
    this.#settings.onSoft?.(report);
  }
}
