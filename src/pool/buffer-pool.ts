/**
 * The tiered buffer pool.
 *
 * @module
 */
import { channels, debug } from '../debug.js';
import { ClosedError, PoolExhaustedError, TimeoutError } from '../errors.js';
import { Lease, type LeaseOwner } from './lease.js';
import { type BufferPoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options.js';
import { returnToOsWhenCollected } from './reclaim.js';
import { type Block, SizeClass, type Slab } from './size-class.js';
import { classIndexFor } from './size-classes.js';
import { collectStats, type PoolStats } from './stats.js';

/** Options for {@link BufferPool.acquireAsync}. */
export interface AcquireOptions {
  /** Abort waiting; the promise rejects with `signal.reason` and the waiter is removed. */
  signal?: AbortSignal;
  /** Give up waiting after this many milliseconds with `ERR_SLABIO_TIMEOUT`. @default no timeout */
  timeoutMs?: number;
}

interface Waiter {
  readonly size: number;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (reason: unknown) => void;
  cleanup(): void;
}

interface LeakRecord {
  readonly block: Block | null;
  readonly size: number;
  readonly budgetBytes: number;
  readonly stack: string;
}

const POISON = 0xde;
const EMPTY = Buffer.alloc(0);

/** Counters shared with the stats module. */
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
}

/**
 * A pool of reusable buffers in size classes, carved from slabs, under a hard byte budget.
 *
 * @example
 * ```ts
 * import { BufferPool } from 'slabio';
 * const pool = new BufferPool({ sizeClasses: [100 * 1024, 200 * 1024, 300 * 1024], maxBytes: 64 << 20 });
 * using lease = pool.acquire(150 * 1024); // served by the 200 KiB class
 * lease.buffer.fill(0);
 * ```
 */
export class BufferPool implements LeaseOwner {
  readonly #options: ResolvedPoolOptions;
  readonly #classes: SizeClass[];
  readonly #counters: PoolCounters = {
    reservedBytes: 0,
    highWaterBytes: 0,
    oversize: 0,
    oversizeBytes: 0,
    fallbacks: 0,
    waits: 0,
    timeouts: 0,
    rejections: 0,
    leaks: 0,
    trimmedBytes: 0,
  };
  readonly #waiters: Waiter[] = [];
  readonly #leakRegistry: FinalizationRegistry<LeakRecord> | null;
  readonly #reportedLeakStacks = new Set<string>();
  #acquired = 0;
  /** Logical clock: incremented whenever a slab becomes idle. */
  #clock = 0;
  /** The clock at the previous idle-timer tick: slabs idle since then have been idle ≥ idleTrimMs. */
  #tickMark = 0;
  #closed = false;
  #idleTimer: NodeJS.Timeout | null = null;

  /**
   * @throws {TypeError} when an option has the wrong type.
   * @throws {RangeError} when an option is out of range (unsorted classes, `maxBytes` below the
   * largest class, negative sizes); the message names the option and the value.
   */
  constructor(options: BufferPoolOptions = {}) {
    this.#options = resolvePoolOptions(options);
    const { sizeClasses, slabBytes, debug: debugMode, leakSampleRate } = this.#options;
    this.#classes = sizeClasses.map((size) => new SizeClass(size, slabBytes, debugMode));
    this.#leakRegistry =
      debugMode || leakSampleRate > 0
        ? new FinalizationRegistry<LeakRecord>((record) => this.#onLeak(record))
        : null;
  }

  /** The size classes in bytes, ascending. */
  get sizeClasses(): readonly number[] {
    return this.#options.sizeClasses;
  }

  /** The hard budget in bytes. */
  get maxBytes(): number {
    return this.#options.maxBytes;
  }

  /** Whether debug mode (poisoning, detaching, stacks for every lease) is on. */
  get debug(): boolean {
    return this.#options.debug;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The capacity of the class that serves `size` bytes, or `undefined` when it is oversize. */
  classFor(size: number): number | undefined {
    const i = classIndexFor(this.#options.sizeClasses, size);
    return i === -1 ? undefined : this.#options.sizeClasses[i];
  }

  /**
   * Lease a buffer of exactly `size` bytes now.
   *
   * @throws {RangeError} when `size` is not a non-negative safe integer.
   * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` when the budget is spent and
   * `onExhausted` is `'throw'` or `'wait'` (only `acquireAsync` can wait).
   * @throws {ClosedError} `ERR_SLABIO_CLOSED` after `close()`.
   * @example
   * ```ts
   * const lease = pool.acquire(4096);
   * try { fill(lease.buffer); } finally { lease.release(); }
   * ```
   */
  acquire(size: number): Lease {
    checkSize(size);
    if (this.#closed) throw new ClosedError('pool');
    return this.#tryAcquire(size) ?? this.#exhausted(size);
  }

  /**
   * Lease `size` bytes if the pool can serve them now without waiting, else `null`. A spent
   * budget is not a failure here: nothing is counted as a rejection and `onExhausted` does not
   * apply. While `acquireAsync` requests are queued it returns `null`, so they keep their turn.
   * For producers that cannot pause (pdfkit pushes its output synchronously): try this first,
   * then fall back to `acquireAsync`.
   *
   * @throws {RangeError} when `size` is not a non-negative safe integer.
   * @throws {ClosedError} `ERR_SLABIO_CLOSED` after `close()`.
   * @example
   * ```ts
   * const lease = pool.tryAcquire(n) ?? (await pool.acquireAsync(n, { signal }));
   * ```
   */
  tryAcquire(size: number): Lease | null {
    checkSize(size);
    if (this.#closed) throw new ClosedError('pool');
    if (this.#waiters.length > 0) return null;
    return this.#tryAcquire(size);
  }

  /**
   * Lease a buffer of exactly `size` bytes, waiting (FIFO) for memory when the budget is spent and
   * `onExhausted` is `'wait'`.
   *
   * @throws {RangeError} for a bad `size` or `timeoutMs` (rejects).
   * @throws {TimeoutError} `ERR_SLABIO_TIMEOUT` when `timeoutMs` passes first (rejects).
   * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` under `'throw'`, or when `size` is
   * larger than `maxBytes` and could never be served (rejects).
   * @throws {ClosedError} `ERR_SLABIO_CLOSED` when the pool is or gets closed (rejects).
   * @example
   * ```ts
   * const lease = await pool.acquireAsync(1 << 20, { signal: req.signal, timeoutMs: 5000 });
   * ```
   */
  acquireAsync(size: number, options: AcquireOptions = {}): Promise<Lease> {
    try {
      checkSize(size);
      checkAcquireOptions(options);
      const { signal } = options;
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (this.#closed) throw new ClosedError('pool');
      if (this.#waiters.length === 0) {
        const lease = this.#tryAcquire(size);
        if (lease !== null) return Promise.resolve(lease);
      }
      if (this.#options.onExhausted !== 'wait' || size > this.#options.maxBytes) {
        return Promise.resolve(this.#exhausted(size));
      }
      return this.#enqueue(size, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Drop every slab whose blocks are all free, so its memory can go back to the OS. Returns the
   * bytes dropped from the reservation. The memory leaves the process once V8 has collected it
   * (at once if nothing else references it); with the native addon loaded slabio then calls
   * `malloc_trim(0)`, because glibc would otherwise keep the freed pages (see the README).
   * @example
   * ```ts
   * pool.trim(); // after a burst
   * ```
   */
  trim(): number {
    return this.#trimIdle(Number.POSITIVE_INFINITY, 'trim');
  }

  /** A snapshot of the pool's accounting; see {@link PoolStats} for each field. */
  stats(): PoolStats {
    return collectStats(
      this.#options.maxBytes,
      this.#counters,
      this.#classes,
      this.#waiters.length,
    );
  }

  /**
   * Close the pool: reject waiters with `ERR_SLABIO_CLOSED`, drop idle slabs, and drop every
   * other slab as its last lease comes back. Later `acquire` calls throw `ERR_SLABIO_CLOSED`.
   * Closing twice is a no-op.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopIdleTimer();
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new ClosedError('pool'));
    }
    this.trim();
  }

  /** `close()`, so `using pool = new BufferPool()` works. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called by `Lease.release()`. */
  releaseLease(lease: Lease, block: Block | null, budgetBytes: number, tracked: boolean): void {
    if (tracked) this.#leakRegistry?.unregister(lease);
    if (block === null) {
      this.#counters.reservedBytes -= budgetBytes;
      this.#counters.oversizeBytes -= budgetBytes;
    } else {
      const slab = block.slab;
      if (this.#options.debug) poisonAndDetach(slab);
      const idle = slab.owner.put(block, this.#clock + 1);
      if (idle) this.#clock++;
      if (idle && this.#closed) this.#dropSlab(slab);
      else if (idle) this.#startIdleTimer();
    }
    if (this.#waiters.length > 0) this.#drainWaiters();
  }

  /** Drop idle slabs that went idle at or before logical time `mark`. */
  #trimIdle(mark: number, reason: 'trim' | 'idle'): number {
    let freed = 0;
    for (const cls of this.#classes) {
      for (const slab of [...cls.slabs]) {
        if (slab.idleSince >= 0 && slab.idleSince <= mark) freed += this.#dropSlab(slab);
      }
    }
    if (freed > 0) {
      debug('pool %s: dropped %d idle bytes (%s)', this.#options.name, freed, reason);
      if (channels.poolTrim.hasSubscribers) {
        channels.poolTrim.publish({ pool: this, freedBytes: freed, reason });
      }
    }
    if (this.#slabCount() === 0) this.#stopIdleTimer();
    this.#drainWaiters();
    return freed;
  }

  #tryAcquire(size: number): Lease | null {
    if (size === 0) return new Lease(this, null, EMPTY, 0, 0, false);
    const index = classIndexFor(this.#options.sizeClasses, size);
    if (index === -1) return this.#oversize(size);
    const cls = this.#classes[index] as SizeClass;
    let block = cls.take();
    if (block !== undefined) {
      cls.hits++;
    } else {
      const blocks = this.#grant(cls);
      if (blocks === 0) return null;
      cls.misses++;
      block = cls.grow(blocks, Buffer.allocUnsafeSlow(blocks * cls.size).buffer);
      this.#reserve(blocks * cls.size);
      if (channels.poolSlab.hasSubscribers) {
        channels.poolSlab.publish({ pool: this, classSize: cls.size, bytes: blocks * cls.size });
      }
    }
    const tracked = this.#sample();
    const lease = new Lease(
      this,
      block,
      Buffer.from(block.slab.ab, block.offset, size),
      cls.size,
      0,
      tracked,
    );
    if (tracked) this.#track(lease, block, size, 0);
    return lease;
  }

  #oversize(size: number): Lease | null {
    if (!this.#fits(size)) return null;
    this.#reserve(size);
    this.#counters.oversize++;
    this.#counters.oversizeBytes += size;
    if (channels.poolOversize.hasSubscribers) channels.poolOversize.publish({ pool: this, size });
    const tracked = this.#sample();
    const lease = new Lease(this, null, Buffer.allocUnsafeSlow(size), size, size, tracked);
    if (tracked) this.#track(lease, null, size, size);
    return lease;
  }

  /** Budget spent: apply `onExhausted` for a request that cannot wait (or must not). */
  #exhausted(size: number): Lease {
    const { onExhausted, maxBytes, name } = this.#options;
    if (channels.poolExhausted.hasSubscribers) {
      channels.poolExhausted.publish({ pool: this, size, policy: onExhausted });
    }
    if (onExhausted === 'allocate') {
      this.#counters.fallbacks++;
      const capacity = this.classFor(size) ?? size;
      debug('pool %s: budget spent, %d bytes allocated outside it', name, size);
      return new Lease(this, null, Buffer.allocUnsafeSlow(size), capacity, 0, false);
    }
    this.#counters.rejections++;
    throw new PoolExhaustedError(size, maxBytes, this.#counters.reservedBytes);
  }

  /** How many blocks the class may reserve now, dropping idle slabs of any class if needed. */
  #grant(cls: SizeClass): number {
    this.#fits(cls.blocksPerSlab * cls.size); // evicts idle slabs as far as needed and possible
    return Math.min(cls.blocksPerSlab, Math.floor(this.#available() / cls.size));
  }

  #fits(bytes: number): boolean {
    if (bytes <= this.#available()) return true;
    this.#evictIdle(bytes - this.#available());
    return bytes <= this.#available();
  }

  #available(): number {
    return this.#options.maxBytes - this.#counters.reservedBytes;
  }

  #reserve(bytes: number): void {
    const counters = this.#counters;
    counters.reservedBytes += bytes;
    if (counters.reservedBytes > counters.highWaterBytes)
      counters.highWaterBytes = counters.reservedBytes;
  }

  /** Drop idle slabs, longest idle first, until `bytes` are freed or none are left. */
  #evictIdle(bytes: number): void {
    const idle: Slab[] = [];
    for (const cls of this.#classes)
      for (const slab of cls.slabs) if (slab.idleSince >= 0) idle.push(slab);
    idle.sort((a, b) => a.idleSince - b.idleSince);
    let freed = 0;
    for (const slab of idle) {
      if (freed >= bytes) break;
      freed += this.#dropSlab(slab);
    }
  }

  #dropSlab(slab: Slab): number {
    slab.owner.drop(slab);
    this.#counters.reservedBytes -= slab.bytes;
    this.#counters.trimmedBytes += slab.bytes;
    returnToOsWhenCollected(slab.ab);
    return slab.bytes;
  }

  #slabCount(): number {
    let n = 0;
    for (const cls of this.#classes) n += cls.slabs.length;
    return n;
  }

  #sample(): boolean {
    if (this.#leakRegistry === null) return false;
    if (this.#options.debug) return true;
    return this.#acquired++ % this.#options.leakSampleRate === 0;
  }

  /** Watch a sampled lease for garbage collection without release (see `#onLeak`). */
  #track(lease: Lease, block: Block | null, size: number, budgetBytes: number): void {
    // The stack is the expensive part (~µs); only debug mode pays for it.
    const stack = this.#options.debug
      ? (new Error().stack ?? '').split('\n').slice(4).join('\n')
      : '';
    this.#leakRegistry?.register(lease, { block, size, budgetBytes, stack }, lease);
  }

  #onLeak(record: LeakRecord): void {
    this.#counters.leaks++;
    if (record.block === null) {
      // The oversize buffer is no longer the pool's to account for; the user's views keep it alive.
      this.#counters.reservedBytes -= record.budgetBytes;
      this.#counters.oversizeBytes -= record.budgetBytes;
    } else {
      // Never reuse the block: a view of it may still be referenced without its lease.
      record.block.slab.owner.leak(record.block, ++this.#clock);
    }
    if (channels.poolLeak.hasSubscribers) {
      channels.poolLeak.publish({ pool: this, size: record.size, stack: record.stack });
    }
    if (!this.#reportedLeakStacks.has(record.stack)) {
      this.#reportedLeakStacks.add(record.stack);
      const where = record.stack
        ? `\nAcquired at:\n${record.stack}`
        : ' Set SLABIO_DEBUG=1 to record where leases are acquired.';
      process.emitWarning(
        `A lease of ${record.size} bytes from pool "${this.#options.name}" was garbage-collected without release(); its block will not be reused.${where}`,
        { type: 'SlabioWarning', code: 'SLABIO_LEAK' },
      );
    }
    this.#drainWaiters();
  }

  #enqueue(size: number, options: AcquireOptions): Promise<Lease> {
    const { signal, timeoutMs } = options;
    this.#counters.waits++;
    return new Promise<Lease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        remove();
        reject(signal?.reason);
      };
      const remove = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        waiter.cleanup();
      };
      const waiter: Waiter = {
        size,
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          remove();
          this.#counters.timeouts++;
          reject(new TimeoutError('acquireAsync', timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      if (channels.poolWait.hasSubscribers)
        channels.poolWait.publish({ pool: this, size, outcome: 'queued' });
    });
  }

  /** Serve waiters strictly in order; stop at the first that still does not fit. */
  #drainWaiters(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      const waiter = this.#waiters[0] as Waiter;
      const lease = this.#tryAcquire(waiter.size);
      if (lease === null) return;
      this.#waiters.shift();
      waiter.cleanup();
      waiter.resolve(lease);
    }
  }

  #startIdleTimer(): void {
    const { idleTrimMs } = this.#options;
    if (idleTrimMs === 0 || this.#idleTimer !== null || this.#closed) return;
    this.#tickMark = this.#clock;
    // Each tick drops slabs that were already idle at the previous tick and still are: idle for
    // between idleTrimMs and twice that.
    this.#idleTimer = setInterval(() => {
      const mark = this.#tickMark;
      this.#tickMark = this.#clock;
      this.#trimIdle(mark, 'idle');
    }, idleTrimMs).unref();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    this.#idleTimer = null;
  }
}

function checkSize(size: unknown): asserts size is number {
  if (typeof size !== 'number') throw new TypeError(`size must be a number, got ${typeof size}`);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`size must be a non-negative integer, got ${size}`);
  }
}

function checkAcquireOptions(options: AcquireOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `options must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const { signal, timeoutMs } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    throw new RangeError(`options.timeoutMs must be a non-negative number, got ${timeoutMs}`);
  }
}

/** Debug mode: overwrite the block and move its memory to a new ArrayBuffer, detaching old views. */
function poisonAndDetach(slab: Slab): void {
  new Uint8Array(slab.ab).fill(POISON);
  slab.ab = structuredClone(slab.ab, { transfer: [slab.ab] });
}
