/**
 * The memory guard's record of failed cgroup reads: when it turned blind, why, and whether it
 * has said so.
 *
 * @module
 */

/** Payload of the guard's `'blind'` event: the first failed read after a good one (or ever). */
export interface GuardBlindness {
  /** The read's error, usually a `CgroupError` naming the file. */
  error: unknown;
  /** `Date.now()` of the first failed read of this streak. */
  since: number;
  /** Failed reads in this streak so far (1 when `'blind'` is emitted). */
  failedSamples: number;
}

/** @internal Counts failed reads for one guard and warns once when nobody listens. */
export class Blindness {
  /** Failed reads since the guard was created. */
  failedSamples = 0;
  /** The error of the most recent failed read; kept after a recovery. */
  lastError: unknown = null;
  /** `Date.now()` of the first failed read of the current streak, `null` while reads succeed. */
  since: number | null = null;
  #streak = 0;
  #warned = false;

  get blind(): boolean {
    return this.since !== null;
  }

  /** Record a failed read; returns the `'blind'` payload when the guard just turned blind. */
  fail(error: unknown): GuardBlindness | null {
    this.failedSamples++;
    this.#streak++;
    this.lastError = error;
    if (this.since !== null) return null;
    this.since = Date.now();
    return { error, since: this.since, failedSamples: this.#streak };
  }

  /** Record a good read; returns the streak that just ended, `null` if the guard was not blind. */
  succeed(): Omit<GuardBlindness, 'error'> | null {
    if (this.since === null) return null;
    const ended = { since: this.since, failedSamples: this.#streak };
    this.since = null;
    this.#streak = 0;
    return ended;
  }

  /**
   * Emit the one `SLABIO_GUARD_BLIND` warning of this guard. Once per guard, not per streak: a
   * read that fails every other second would otherwise warn every other second.
   */
  warnOnce(): void {
    if (this.#warned) return;
    this.#warned = true;
    const reason = (this.lastError as Error | null)?.message ?? String(this.lastError);
    process.emitWarning(
      `slabio memory guard cannot read the cgroup (${reason}). It is blind: it takes no samples and runs no soft or hard actions until a read succeeds; ready() keeps the answer of its last good sample (true if it never read one). Listen for 'error' or 'blind', or watch stats().blind or slabio_guard_blind.`,
      { type: 'SlabioWarning', code: 'SLABIO_GUARD_BLIND' },
    );
  }
}
