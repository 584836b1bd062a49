/**
 * The tiered buffer pool.
 *
 * @module
 */
import { channels, debug } from '../debug.js';
import { ClosedError, PoolExhaustedError } from '../errors.js';
import { Budget } from './budget.js';
import { classIndexFor } from './class-list.js';
import { type LeakRecord, LeakTracker } from './leak-tracker.js';
import { Lease, type LeaseOwner } from './lease.js';
import {
  type BufferPoolOptions,
  checkAcquireOptions,
  checkSize,
  type ResolvedPoolOptions,
  resolvePoolOptions,
} from './options.js';
import { type Block, poisonAndDetach, SizeClass } from './size-class.js';
import { collectStats, type PoolCounters, type PoolStats } from './stats.js';
import { type AcquireOptions, type Holder, WaitQueue } from './wait-queue.js';

export type { AcquireOptions } from './wait-queue.js';

const EMPTY = Buffer.alloc(0);

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
    deadlocks: 0,
  };
  readonly #waiters = new WaitQueue(() => this.#drainWaiters());
  readonly #budget: Budget;
  readonly #leaks: LeakTracker;
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
    const { sizeClasses, slabBytes, debug: debugMode, leakSampleRate, name } = this.#options;
    this.#classes = sizeClasses.map((size) => new SizeClass(size, slabBytes, debugMode));
    this.#budget = new Budget(this.#options.maxBytes, this.#classes, this.#counters, (freed) => {
      debug('pool %s: evicted %d idle bytes to make room', name, freed);
      if (channels.poolTrim.hasSubscribers) {
        channels.poolTrim.publish({ pool: this, freedBytes: freed, reason: 'evict' });
      }
    });
    this.#leaks = new LeakTracker(
      this,
      { name, debug: debugMode, sampleRate: leakSampleRate },
      (record) => this.#onLeak(record),
    );
  }

  /** The size classes in bytes, ascending. */
  get sizeClasses(): readonly number[] {
    return this.#options.sizeClasses;
  }

  /** The pool's `name` option: in debug output, leak reports and the `slabio/prom` `pool` label. */
  get name(): string {
    return this.#options.name;
  }

  /** The hard budget in bytes. */
  get maxBytes(): number {
    return this.#options.maxBytes;
  }

  /** Whether debug mode (poisoning, detaching, stacks for every lease) is on. */
  get debug(): boolean {
    return this.#options.debug;
  }

  /** Whether slabs are `SharedArrayBuffer`s (the `shared` option), as `RenderWorkers` needs. */
  get shared(): boolean {
    return this.#options.shared;
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
   * @throws {SlabioTimeoutError} `ERR_SLABIO_TIMEOUT` when `timeoutMs` passes first (rejects).
   * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` under `'throw'`, or when `size` is
   * larger than `maxBytes` and could never be served (rejects).
   * @throws {ClosedError} `ERR_SLABIO_CLOSED` when the pool is or gets closed (rejects).
   * @example
   * ```ts
   * const lease = await pool.acquireAsync(1 << 20, { signal: req.signal, timeoutMs: 5000 });
   * ```
   */
  acquireAsync(size: number, options: AcquireOptions = {}): Promise<Lease> {
    return this.#acquire(size, options, undefined);
  }

  /**
   * @internal `acquireAsync` for an operation that holds leases of this pool while it asks for
   * the next one (see {@link Holder}): it is served before requests that hold nothing, oldest
   * holder first, and rejects with `ERR_SLABIO_POOL_EXHAUSTED` when it is the youngest of waiting
   * holders that together hold every byte in use (nobody else could release memory for them).
   */
  acquireFor(holder: Holder, size: number, options: AcquireOptions = {}): Promise<Lease> {
    return this.#acquire(size, options, holder);
  }

  #acquire(size: number, options: AcquireOptions, holder: Holder | undefined): Promise<Lease> {
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
      const queued = this.#enqueue(size, options, holder);
      // A holder may go ahead of queued requests that hold nothing, and its wait may close a
      // cycle of holders waiting for each other: both are settled here, synchronously.
      if (holder !== undefined) this.#drainWaiters();
      return queued;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Drop every slab whose blocks are all free, so its memory can go back to the OS. Returns the
   * bytes dropped from the reservation. The memory leaves the process once V8 has collected it
   * (at once if nothing else references it); with the native addon loaded slabio then calls
   * `malloc_trim(0)`, because glibc would otherwise keep the freed pages (see docs/api/pool.md).
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
    this.#waiters.rejectAll(new ClosedError('pool'));
    this.trim();
  }

  /** `close()`, so `using pool = new BufferPool()` works. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called by `Lease.release()`. */
  releaseLease(lease: Lease, block: Block | null, budgetBytes: number, tracked: boolean): void {
    if (tracked) this.#leaks.untrack(lease);
    if (block === null) {
      this.#budget.releaseOversize(budgetBytes);
    } else {
      const slab = block.slab;
      if (this.#options.debug) poisonAndDetach(slab);
      const idle = slab.owner.put(block, this.#clock + 1);
      if (idle) this.#clock++;
      if (idle && this.#closed) this.#budget.drop(slab);
      else if (idle) this.#onSlabIdle();
    }
    if (this.#waiters.length > 0) this.#drainWaiters();
  }

  /** Drop idle slabs that went idle at or before logical time `mark`. */
  #trimIdle(mark: number, reason: 'trim' | 'idle'): number {
    const freed = this.#budget.dropIdle(mark);
    if (freed > 0) {
      debug('pool %s: dropped %d idle bytes (%s)', this.#options.name, freed, reason);
      if (channels.poolTrim.hasSubscribers) {
        channels.poolTrim.publish({ pool: this, freedBytes: freed, reason });
      }
    }
    if (this.#budget.slabCount() === 0) this.#stopIdleTimer();
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
      const blocks = this.#budget.grant(cls);
      if (blocks === 0) return null;
      cls.misses++;
      block = cls.grow(blocks, this.#memory(blocks * cls.size));
      this.#budget.reserve(blocks * cls.size);
      debug(
        'pool %s: reserved a %d-byte slab for class %d',
        this.#options.name,
        blocks * cls.size,
        cls.size,
      );
      if (channels.poolSlab.hasSubscribers) {
        channels.poolSlab.publish({ pool: this, classSize: cls.size, bytes: blocks * cls.size });
      }
    }
    const tracked = this.#leaks.sample();
    const lease = new Lease(
      this,
      block,
      Buffer.from(block.slab.ab, block.offset, size),
      cls.size,
      0,
      tracked,
    );
    if (tracked) this.#leaks.track(lease, block, size, 0);
    return lease;
  }

  /** Fresh memory for a slab or an oversize buffer: shared with worker threads when `shared`. */
  #memory(bytes: number): ArrayBuffer | SharedArrayBuffer {
    return this.#options.shared
      ? new SharedArrayBuffer(bytes)
      : Buffer.allocUnsafeSlow(bytes).buffer;
  }

  #oversize(size: number): Lease | null {
    if (!this.#budget.fits(size)) return null;
    this.#budget.reserveOversize(size);
    if (channels.poolOversize.hasSubscribers) channels.poolOversize.publish({ pool: this, size });
    const tracked = this.#leaks.sample();
    const lease = new Lease(this, null, Buffer.from(this.#memory(size)), size, size, tracked);
    if (tracked) this.#leaks.track(lease, null, size, size);
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
      return new Lease(this, null, Buffer.from(this.#memory(size)), capacity, 0, false);
    }
    this.#counters.rejections++;
    throw new PoolExhaustedError(size, maxBytes, this.#counters.reservedBytes);
  }

  /** Accounting for a lease collected without release; LeakTracker reports it. */
  #onLeak(record: LeakRecord): void {
    this.#counters.leaks++;
    debug(
      'pool %s: a %d-byte lease was collected without release()',
      this.#options.name,
      record.size,
    );
    if (record.block === null) {
      // The oversize buffer is no longer the pool's to account for; the user's views keep it alive.
      this.#budget.releaseOversize(record.budgetBytes);
    } else {
      // Never reuse the block: a view of it may still be referenced without its lease.
      record.block.slab.owner.leak(record.block, ++this.#clock);
    }
    this.#drainWaiters();
  }

  #enqueue(size: number, options: AcquireOptions, holder: Holder | undefined): Promise<Lease> {
    this.#counters.waits++;
    if (channels.poolWait.hasSubscribers) {
      channels.poolWait.publish({ pool: this, size, outcome: 'queued' });
    }
    const timeoutMs = options.timeoutMs ?? this.#options.waitTimeoutMs;
    return this.#waiters.enqueue(size, { ...options, timeoutMs }, holder, () => {
      this.#counters.timeouts++;
    });
  }

  /**
   * Serve waiters strictly in order; stop at the first that still does not fit. Then check for
   * holders stuck on each other: the head's request could only be served from memory that is
   * free now, plus what leases outside the waiting holders may still bring back (each released
   * byte frees at most one byte). When even all of that is less than the head needs, nothing but
   * a waiting holder letting go can help: fail the youngest (its memory comes back when its
   * operation unwinds, which runs this again). One at a time, so no more give way than needed;
   * the oldest always goes on, so every wait ends. A lease held outside (a slow client's first
   * block, a result being processed) stalls the holders only when it could cover the head.
   */
  #drainWaiters(): void {
    if (this.#closed) return;
    this.#waiters.drain((size) => this.#tryAcquire(size));
    const head = this.#waiters.headSize();
    if (head === undefined) return;
    const held = this.#waiters.heldByWaiters();
    if (held === 0) return;
    const outside = Math.max(0, this.#inUseBytes() - held);
    const need = this.classFor(head) ?? head;
    if (this.#budget.available() + this.#budget.idleBytes() + outside >= need) return;
    this.#counters.deadlocks++;
    this.#counters.rejections++;
    debug(
      'pool %s: waiting operations hold %d bytes; %d more cannot come',
      this.#options.name,
      held,
      need,
    );
    this.#waiters.rejectYoungestHolder(
      (size) =>
        new PoolExhaustedError(
          size,
          this.#options.maxBytes,
          this.#counters.reservedBytes,
          'the memory it waited for was held by operations waiting for more, and this was the youngest',
        ),
    );
  }

  /** Bytes leased now: blocks at their class size plus live oversize buffers. */
  #inUseBytes(): number {
    let bytes = this.#counters.oversizeBytes;
    for (const cls of this.#classes) bytes += cls.inUseBytes;
    return bytes;
  }

  /**
   * A slab just became idle. Idle slabs beyond `spareRatio` × the bytes in use (and beyond one per
   * class) go at once: after a burst of reads the slabs their growth blocks came from are all idle
   * while the results are still held, and would otherwise double the pool's footprint until the
   * idle timer. The rest waits for the idle timer.
   */
  #onSlabIdle(): void {
    const { spareRatio, name } = this.#options;
    if (spareRatio !== Number.POSITIVE_INFINITY) {
      const freed = this.#budget.capIdle(spareRatio * this.#inUseBytes());
      if (freed > 0) {
        debug('pool %s: dropped %d idle bytes (spare)', name, freed);
        if (channels.poolTrim.hasSubscribers) {
          channels.poolTrim.publish({ pool: this, freedBytes: freed, reason: 'spare' });
        }
      }
    }
    this.#startIdleTimer();
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
