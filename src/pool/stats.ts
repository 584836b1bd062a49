/**
 * Pool statistics.
 *
 * @module
 */
import type { SizeClass } from './size-class.js';

/** The pool's running totals, kept by the pool and its budget, read by {@link collectStats}. */
export interface PoolCounters {
  reservedBytes: number;
  highWaterBytes: number;
  oversize: number;
  oversizeBytes: number;
  fallbacks: number;
  waits: number;
  timeouts: number;
  rejections: number;
  leaks: number;
  trimmedBytes: number;
  deadlocks: number;
}

/** Statistics of one size class. */
export interface PoolClassStats {
  /** The class's block size in bytes. */
  size: number;
  /** Slabs currently reserved for this class. */
  slabs: number;
  /** Bytes of those slabs. */
  reservedBytes: number;
  /** Bytes of blocks currently leased (block size × leased blocks). */
  inUseBytes: number;
  /** Blocks ready to be leased without reserving memory. */
  freeBlocks: number;
  /** The most bytes of this class ever leased at once. */
  highWaterBytes: number;
  /** Requests served from a free block. */
  hits: number;
  /** Requests that had to reserve a new slab. */
  misses: number;
  /** Leases collected without `release()` (sampled outside debug mode). */
  leaks: number;
}

/** A snapshot of a pool's accounting. Counters are totals since the pool was created. */
export interface PoolStats {
  /** The budget. */
  maxBytes: number;
  /** Bytes the pool holds now: all slabs plus live oversize buffers. Never exceeds `maxBytes`. */
  reservedBytes: number;
  /** Bytes leased now: leased blocks at their class size plus live oversize buffers. */
  inUseBytes: number;
  /** Bytes of slabs whose blocks are all free: reserved, ready for reuse, droppable by `trim()`. */
  idleBytes: number;
  /** The most bytes ever reserved at once. */
  highWaterBytes: number;
  /** Slabs reserved now, over all classes. */
  slabs: number;
  /** Sum of the classes' `hits`. */
  hits: number;
  /** Sum of the classes' `misses`. */
  misses: number;
  /** Requests above the largest class, each allocated once and counted in the budget while leased. */
  oversize: number;
  /** Bytes of oversize buffers leased now. */
  oversizeBytes: number;
  /** Buffers handed out outside the budget under `onExhausted: 'allocate'`. */
  fallbacks: number;
  /** Requests that had to queue (`acquireAsync` under `'wait'`). */
  waits: number;
  /** Requests queued now. */
  waiting: number;
  /** Queued requests that gave up with `ERR_SLABIO_TIMEOUT`. */
  timeouts: number;
  /** Requests refused with `ERR_SLABIO_POOL_EXHAUSTED`. */
  rejections: number;
  /** Leases collected without `release()`; outside debug mode only sampled leases are watched. */
  leaks: number;
  /** Bytes of slabs dropped by `trim()`, idle trimming, eviction or `close()`, in total. */
  trimmedBytes: number;
  /**
   * Waits failed with `ERR_SLABIO_POOL_EXHAUSTED` because every byte in use was held by
   * operations (reads growing block by block) that were all waiting for more: the youngest gave
   * way so the others could finish. Also counted in `rejections`.
   */
  deadlocks: number;
  /** Per size class, ascending. */
  classes: PoolClassStats[];
}

/** @internal */
export function collectStats(
  maxBytes: number,
  counters: PoolCounters,
  classes: readonly SizeClass[],
  waiting: number,
): PoolStats {
  let inUseBytes = counters.oversizeBytes;
  let idleBytes = 0;
  let slabs = 0;
  let hits = 0;
  let misses = 0;
  const perClass = classes.map((cls): PoolClassStats => {
    inUseBytes += cls.inUseBytes;
    idleBytes += cls.idleBytes;
    slabs += cls.slabs.length;
    hits += cls.hits;
    misses += cls.misses;
    return {
      size: cls.size,
      slabs: cls.slabs.length,
      reservedBytes: cls.reservedBytes,
      inUseBytes: cls.inUseBytes,
      freeBlocks: cls.freeBlocks,
      highWaterBytes: cls.highWaterBytes,
      hits: cls.hits,
      misses: cls.misses,
      leaks: cls.leaks,
    };
  });
  return {
    maxBytes,
    reservedBytes: counters.reservedBytes,
    inUseBytes,
    idleBytes,
    highWaterBytes: counters.highWaterBytes,
    slabs,
    hits,
    misses,
    oversize: counters.oversize,
    oversizeBytes: counters.oversizeBytes,
    fallbacks: counters.fallbacks,
    waits: counters.waits,
    waiting,
    timeouts: counters.timeouts,
    rejections: counters.rejections,
    leaks: counters.leaks,
    trimmedBytes: counters.trimmedBytes,
    deadlocks: counters.deadlocks,
    classes: perClass,
  };
}
