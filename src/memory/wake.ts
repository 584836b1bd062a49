/**
 * The memory guard's fast wake-up: a native thread that watches the cgroup's usage and calls the
 * guard as soon as the working set reaches the next threshold, so the guard need not poll fast.
 *
 * @module
 */
import path from 'node:path';
import { debug } from '../debug.js';
import { loadBinding, type RawCgroupWatcher } from '../native/binding.js';
import type { CgroupMemory } from './cgroup-types.js';

/**
 * How the guard notices a threshold: `'eventfd'` (cgroup v1 usage thresholds wake a native
 * thread), `'poll'` (a native thread re-reads the usage file every {@link WAKE_PERIOD_MS}),
 * `'timer'` (no native wake-up: only the `intervalMs` samples).
 */
export type GuardWakeMode = 'eventfd' | 'poll' | 'timer';

/**
 * Period of the native re-read of the usage file where the kernel gives no wake-up (cgroup v2,
 * a read-only `cgroup.event_control`), and while usage is above the armed level but the working
 * set is not. One pread of a cgroup usage file costs a few microseconds.
 */
export const WAKE_PERIOD_MS = 5;

/** Called with the usage and working set the thread saw; `errno` ≠ 0 when it stopped on a read error. */
export type WakeListener = (usage: number, workingSet: number, errno: number) => void;

/**
 * `last` brought up to date with what the thread just read: its usage and working set (so its
 * inactive file pages and headroom); the rest is as `last` had it.
 */
export function wakeReading(last: CgroupMemory, usage: number, workingSet: number): CgroupMemory {
  return {
    ...last,
    usage,
    inactiveFile: usage - workingSet,
    workingSet,
    headroom: last.limit === null ? null : Math.max(0, last.limit - workingSet),
    timestamp: Date.now(),
  };
}

/** One native watcher on one cgroup directory. */
export class GuardWake {
  readonly #raw: RawCgroupWatcher;
  #closed = false;

  private constructor(raw: RawCgroupWatcher) {
    this.#raw = raw;
  }

  /**
   * A watcher on the cgroup `memory` was read from, or `null` (with the reason in the debug log)
   * where there is none to watch: host figures, no native addon, files that cannot be opened.
   */
  static open(memory: CgroupMemory, listener: WakeListener): GuardWake | null {
    const Watcher = loadBinding()?.CgroupWatcher;
    if (Watcher === undefined || memory.dir === null || memory.version === null) {
      debug('memory guard: no native wake-up (%s)', Watcher ? 'no cgroup' : 'no native addon');
      return null;
    }
    const f = (name: string) => path.join(memory.dir as string, name);
    const v1 = memory.version === 1;
    try {
      const raw = new Watcher(
        f(v1 ? 'memory.usage_in_bytes' : 'memory.current'),
        f('memory.stat'),
        // Hierarchical on v1, as readCgroupMemory subtracts it.
        v1 ? 'total_inactive_file' : 'inactive_file',
        v1 ? f('cgroup.event_control') : null,
        WAKE_PERIOD_MS,
        listener,
      );
      return new GuardWake(raw);
    } catch (err) {
      debug('memory guard: native wake-up unavailable: %s', (err as Error).message);
      return null;
    }
  }

  /** The current way of waking; `'timer'` once closed and until the thread watches. */
  get mode(): GuardWakeMode {
    const mode = this.#closed ? 'starting' : this.#raw.mode();
    return mode === 'starting' ? 'timer' : mode;
  }

  /**
   * Call the listener once when the working set reaches `bytes`; `null` disarms. `thresholds`
   * are every level that may be armed: on cgroup v1 they are registered with the kernel ahead.
   */
  arm(bytes: number | null, thresholds: number[]): void {
    if (!this.#closed) this.#raw.arm(bytes === null ? -1 : bytes, thresholds);
  }

  /** Stop the thread. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
  }
}
