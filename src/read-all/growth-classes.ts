/**
 * The classes an unknown-length read grows through. Internal.
 *
 * @module
 */
import type { BufferPool } from '../pool/index.js';

/** The smallest block a read grows into: below it, per-block bookkeeping costs more than it saves. */
export const MIN_BLOCK = 16 * 1024;

const ladders = new WeakMap<BufferPool, readonly number[]>();

/**
 * A ladder of the pool's classes at least four times apart, from the class that holds
 * {@link MIN_BLOCK} up to the largest, which is always on it (for the default classes: 16 KiB, 64 KiB, 256 KiB, 1 MiB,
 * 4 MiB, 16 MiB). Growing a block by a quarter of what is held needs no finer steps, and every
 * class a read touches reserves slabs of its own: measured with the full table, 50 concurrent
 * reads of 200 KiB each spread over 7 classes and reserved 2.2 × the bytes they held.
 */
export function growthClasses(pool: BufferPool): readonly number[] {
  let ladder = ladders.get(pool);
  if (ladder !== undefined) return ladder;
  const classes = pool.sizeClasses;
  const first = pool.classFor(MIN_BLOCK) ?? (classes.at(-1) as number);
  const steps = [first];
  for (const c of classes) if (c >= 4 * (steps.at(-1) as number)) steps.push(c);
  const largest = classes.at(-1) as number;
  if (largest > (steps.at(-1) as number)) steps.push(largest);
  ladder = steps;
  ladders.set(pool, ladder);
  return ladder;
}
