/**
 * Threshold arithmetic for the memory guard: a threshold is a fraction of the limit (≤ 1) or a
 * byte count (> 1).
 *
 * @module
 */

/** Validate a threshold option; `allowZero` for hysteresis. */
export function checkThreshold(name: string, value: number, allowZero = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new RangeError(
      `options.${name} must be a ${allowZero ? 'non-negative' : 'positive'} fraction (≤ 1) or byte count (> 1), got ${String(value)}`,
    );
  }
  return value;
}

/** Resolve a threshold against `base` bytes. */
export function resolveThreshold(value: number, base: number): number {
  return value <= 1 ? Math.round(value * base) : value;
}

/** Check that `soft` lies below `hard` when both are of the same kind (fractions or bytes). */
export function checkOrder(soft: number, hard: number): void {
  if (soft <= 1 === hard <= 1 && soft >= hard) {
    throw new RangeError(`options.soft (${soft}) must be below options.hard (${hard})`);
  }
}

/** Validate `hardBase`. */
export function checkHardBase(value: unknown): void {
  if (value !== undefined && value !== 'ceiling' && value !== 'limit') {
    throw new RangeError(`options.hardBase must be 'ceiling' or 'limit', got ${String(value)}`);
  }
}
