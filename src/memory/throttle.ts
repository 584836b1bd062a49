/**
 * Follows the kernel's `memory.high` throttle counter across the guard's samples.
 *
 * @module
 */

/** Payload of `'throttled'`: the kernel counted new `memory.high` throttle events. */
export interface GuardThrottle {
  /** The counter now (`CgroupMemory.highEvents`). */
  highEvents: number;
  /** Events since the previous good sample. */
  increase: number;
  /** The effective `memory.high` in bytes, `null` if it is unset (a descendant's was hit). */
  high: number | null;
  /** Working set at this sample, in bytes. */
  workingSet: number;
}

/**
 * Turns the counter into increases. The first reading is a baseline, not an increase: the
 * kernel counts since the group was created, and those events may be hours old. A counter
 * that goes down (the group was re-created, or another group's `memory.high` became the
 * lowest) starts a new baseline too.
 */
export class ThrottleCounter {
  #last: number | null = null;
  #total = 0;

  /** Events seen rising since the guard started. */
  get total(): number {
    return this.#total;
  }

  /** The counter at the last reading that had one, `null` before. */
  get last(): number | null {
    return this.#last;
  }

  /** Take one reading; returns its increase (0 for a baseline or a missing counter). */
  observe(value: number | null): number {
    if (value === null) return 0;
    const prev = this.#last;
    this.#last = value;
    if (prev === null || value <= prev) return 0;
    const increase = value - prev;
    this.#total += increase;
    return increase;
  }
}
