/**
 * {@link BufferPool} options, their defaults and validation.
 *
 * @module
 */
import { debugFromEnv } from '../debug.js';
import {
  booleanOption,
  checkInteger,
  checkObject,
  checkSignal,
  intOption,
  numberOption,
  oneOf,
  stringOption,
} from '../validate.js';
import { defaultSizeClasses, validateSizeClasses } from './class-list.js';
import { defaultBudget } from './default-budget.js';
import type { AcquireOptions } from './wait-queue.js';

/** What a pool does when its byte budget is spent. */
export type ExhaustedPolicy = 'wait' | 'allocate' | 'throw';

const EXHAUSTED: readonly ExhaustedPolicy[] = ['wait', 'allocate', 'throw'];
const POSITIVE = { min: 1 } as const;
/** The longest timer Node can set (about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options for `new BufferPool(options)`. Every option is optional. */
export interface BufferPoolOptions {
  /**
   * Ascending block sizes in bytes. A request is served by the smallest class that holds it;
   * a request above the largest class is allocated once, unpooled ("oversize").
   * A service with known payload sizes can name them, e.g. `[100 * 1024, 200 * 1024, 300 * 1024]`.
   * @default {@link defaultSizeClasses}(): 4 KiB … 16 MiB, four classes per doubling (waste < 25%)
   */
  sizeClasses?: readonly number[];
  /**
   * Hard budget in bytes for all memory the pool holds: reserved slabs plus live oversize buffers.
   * Must be at least the largest size class.
   * @default 25% of the container's memory limit (`process.constrainedMemory()`, values ≥
   * `os.totalmem()` mean "no limit"), else 25% of `os.totalmem()` capped at 1 GiB; at least the
   * largest size class. {@link defaultBudget} reports which rule applied.
   */
  maxBytes?: number;
  /**
   * Bytes per slab. Blocks of one class are carved from slabs of `floor(slabBytes / size)` blocks
   * (at least one), so a slab is reserved once per that many misses. Larger slabs mean fewer
   * reservations but coarser trimming: a slab is only dropped when all its blocks are free.
   * @default 1 MiB (2 MiB and up is a good choice for services that mostly use blocks ≥ 256 KiB)
   */
  slabBytes?: number;
  /**
   * What to do when a request does not fit the budget even after dropping idle slabs:
   * - `'wait'`: `acquireAsync` queues the request (FIFO) until memory is released; a sync
   *   `acquire` cannot wait and throws `ERR_SLABIO_POOL_EXHAUSTED`.
   * - `'allocate'`: hand out a fresh unpooled buffer outside the budget (counted as `fallbacks`).
   * - `'throw'`: throw (or reject with) `ERR_SLABIO_POOL_EXHAUSTED`.
   * @default 'wait'
   */
  onExhausted?: ExhaustedPolicy;
  /**
   * Under `'wait'`, the longest an `acquireAsync` request waits when it passes no `timeoutMs` of
   * its own; it then rejects with `ERR_SLABIO_TIMEOUT`. A bound by default, so that every request
   * settles even when the memory it waits for is held by something that never lets go (a leaked
   * lease, or a caller holding results until requests that wait for the same memory finish).
   * Waits of operations that only wait for each other end at once (see `stats().deadlocks`).
   * `Infinity` waits without a bound.
   * @default 30000
   */
  waitTimeoutMs?: number;
  /**
   * Slabs whose blocks have all been free for this long are dropped by a background timer
   * (unref'd), and freed native memory is handed back to the OS. `0` disables idle trimming.
   * @default 30000
   */
  idleTrimMs?: number;
  /**
   * Idle slabs (all blocks free) are kept, ready for reuse, up to this fraction of the bytes in
   * use, plus one slab per class; a slab that goes idle beyond that is dropped at once (its memory
   * goes back as after `trim()`). The rest is dropped by the idle timer. Measured: 200 concurrent
   * unknown-length reads of 200 KiB, results held, left 1.94 × the results' bytes reserved with
   * every idle slab kept, 1.11 × with the default. `Infinity` keeps every idle slab until
   * `idleTrimMs`.
   * @default 0.125
   */
  spareRatio?: number;
  /**
   * Debug mode: every lease is tracked with its acquiring stack, released blocks are poisoned
   * with `0xDE` and the user's view of them is detached (one ArrayBuffer per block instead of
   * shared slabs), so a stale read fails loudly. Costs speed and memory; see the README.
   * @default true when the environment has `SLABIO_DEBUG=1`, else false
   */
  debug?: boolean;
  /**
   * Outside debug mode, one lease in this many is tracked for leak detection (Netty samples 1 in
   * 128). `1` tracks every lease; `0` turns leak detection off.
   * @default 128
   */
  leakSampleRate?: number;
  /**
   * Carve slabs (and oversize buffers) from `SharedArrayBuffer`s, so a `RenderWorkers` thread can
   * render straight into a leased block without a copy. Leases behave the same; only
   * `lease.buffer.buffer` is a `SharedArrayBuffer`. In debug mode released blocks are poisoned
   * but views kept from before are not detached (shared memory cannot be detached).
   * @default false
   */
  shared?: boolean;
  /** A name used in warnings, debug output and diagnostics-channel messages. @default 'slabio' */
  name?: string;
}

/** Options after defaults and validation. */
export interface ResolvedPoolOptions {
  sizeClasses: readonly number[];
  maxBytes: number;
  slabBytes: number;
  onExhausted: ExhaustedPolicy;
  waitTimeoutMs: number;
  idleTrimMs: number;
  spareRatio: number;
  debug: boolean;
  leakSampleRate: number;
  shared: boolean;
  name: string;
}

/**
 * The default byte budget of a pool with the default size classes: `defaultBudget().maxBytes`, a
 * quarter of the container's memory limit (at least 16 MiB), or without a limit a quarter of the
 * host's memory, at most 1 GiB. {@link defaultBudget} says which rule applied.
 *
 * @example
 * ```ts
 * const pool = new BufferPool({ maxBytes: Math.min(defaultMaxBytes(), 256 << 20) });
 * ```
 */
export function defaultMaxBytes(): number {
  return defaultBudget().maxBytes;
}

/** Apply defaults and validate; throws `TypeError`/`RangeError` naming the option and value. */
export function resolvePoolOptions(options: BufferPoolOptions = {}): ResolvedPoolOptions {
  checkObject('options', options);
  const sizeClasses =
    options.sizeClasses === undefined
      ? defaultSizeClasses()
      : validateSizeClasses(options.sizeClasses);
  const largest = sizeClasses[sizeClasses.length - 1] as number;
  const maxBytes =
    options.maxBytes === undefined
      ? defaultBudget(largest).maxBytes
      : checkInteger('options.maxBytes', options.maxBytes, POSITIVE);
  if (maxBytes < largest) {
    throw new RangeError(
      `options.maxBytes (${maxBytes}) must be at least the largest size class (${largest})`,
    );
  }
  return {
    sizeClasses,
    maxBytes,
    slabBytes: intOption('options.slabBytes', options.slabBytes, 1024 * 1024, POSITIVE),
    onExhausted: oneOf('options.onExhausted', options.onExhausted, EXHAUSTED, 'wait'),
    waitTimeoutMs: intOption('options.waitTimeoutMs', options.waitTimeoutMs, 30_000, {
      max: MAX_TIMEOUT_MS,
      infinity: true,
    }),
    idleTrimMs: intOption('options.idleTrimMs', options.idleTrimMs, 30_000),
    spareRatio: numberOption('options.spareRatio', options.spareRatio, 0.125, { infinity: true }),
    debug: booleanOption('options.debug', options.debug, debugFromEnv()),
    leakSampleRate: intOption('options.leakSampleRate', options.leakSampleRate, 128),
    shared: booleanOption('options.shared', options.shared, false),
    name: stringOption('options.name', options.name, 'slabio', true),
  };
}

/** Validate a requested size: a non-negative safe integer. */
export function checkSize(size: unknown): asserts size is number {
  checkInteger('size', size);
}

/** Validate `acquireAsync` options. */
export function checkAcquireOptions(options: AcquireOptions): void {
  checkObject('options', options);
  checkSignal(options.signal);
  // setTimeout fires at once (with a TimeoutOverflowWarning) past 2^31 - 1 ms.
  numberOption('options.timeoutMs', options.timeoutMs, 0, { max: MAX_TIMEOUT_MS });
}
