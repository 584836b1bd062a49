/**
 * Size-class tables and lookup.
 *
 * @module
 */
import { checkInteger, shown } from '../validate.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The default size-class table: four classes per doubling (×1, ×1.25, ×1.5, ×1.75) from 4 KiB to
 * 16 MiB, 49 classes in all. A request is served by the smallest class that fits, so the space a
 * block wastes is below 25% of the block (worst case: one byte over a class boundary, e.g. 4097
 * bytes in a 5 KiB block, 20%).
 *
 * @example
 * ```ts
 * defaultSizeClasses().slice(0, 5); // [4096, 5120, 6144, 7168, 8192]
 * ```
 */
export function defaultSizeClasses(): number[] {
  const classes: number[] = [];
  for (let base = 4 * KiB; base < 16 * MiB; base *= 2) {
    for (const step of [4, 5, 6, 7]) classes.push((base / 4) * step);
  }
  classes.push(16 * MiB);
  return classes;
}

/**
 * Validate a user-supplied size-class list: non-empty, positive safe integers, strictly ascending.
 *
 * @throws {TypeError} when `sizeClasses` is not an array of numbers.
 * @throws {RangeError} when a size is not a positive integer or the list is not strictly ascending.
 */
export function validateSizeClasses(sizeClasses: unknown): number[] {
  if (!Array.isArray(sizeClasses)) {
    throw new TypeError(
      `options.sizeClasses must be an array of byte sizes, got ${shown(sizeClasses)}`,
    );
  }
  if (sizeClasses.length === 0) throw new RangeError('options.sizeClasses must not be empty');
  let previous = 0;
  sizeClasses.forEach((value: unknown, i) => {
    const size = checkInteger(`options.sizeClasses[${i}]`, value, { min: 1 });
    if (size <= previous) {
      throw new RangeError(
        `options.sizeClasses must be strictly ascending: [${i}] = ${size} follows ${previous}`,
      );
    }
    previous = size;
  });
  return [...(sizeClasses as number[])];
}

/** Index of the smallest class that holds `size` bytes, or -1 when `size` exceeds the largest. */
export function classIndexFor(classes: readonly number[], size: number): number {
  let lo = 0;
  let hi = classes.length - 1;
  if (size > (classes[hi] as number)) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((classes[mid] as number) < size) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
