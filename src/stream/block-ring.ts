/**
 * A small ring of pool blocks for `pump`. Internal.
 *
 * @module
 */

import { ClosedError } from '../errors.js';
import type { BufferPool, Lease } from '../pool/index.js';

/** One block of the ring and the write callback bound to it once, so writes allocate nothing. */
export interface RingSlot {
  readonly lease: Lease;
  readonly onWritten: (err?: Error | null) => void;
}

/**
 * Up to `count` leases of `size` bytes, leased on first use and reused. A block goes back into the
 * ring only when the destination's write callback for it has fired: until then the destination
 * (a socket write queue, an in-flight `fs.write`) may still read it.
 */
export class BlockRing {
  readonly #pool: BufferPool;
  readonly #size: number;
  readonly #count: number;
  readonly #signal: AbortSignal | undefined;
  readonly #slots: RingSlot[] = [];
  readonly #free: RingSlot[] = [];
  #inFlight = 0;
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(pool: BufferPool, size: number, count: number, signal: AbortSignal | undefined) {
    this.#pool = pool;
    this.#size = size;
    this.#count = count;
    this.#signal = signal;
  }

  /** Blocks handed to the destination whose write callback has not fired yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * A free block: a reused one, a newly leased one, or the next one whose write completes. Only
   * the first block is waited for; later ones are leased only when the pool has them at once, else
   * the ring waits for its own next write. So a pump never waits for pool memory while it holds
   * some: many pumps on a small budget each go on with the blocks they have instead of waiting
   * for each other's.
   */
  async take(): Promise<RingSlot> {
    for (;;) {
      const slot = this.#free.pop();
      if (slot !== undefined) return slot;
      if (this.#slots.length === 0)
        return this.#adopt(await this.#pool.acquireAsync(this.#size, this.#options()));
      if (this.#slots.length < this.#count) {
        const lease = this.#pool.tryAcquire(this.#size);
        if (lease !== null) return this.#adopt(lease);
      }
      await this.#nextWrite();
    }
  }

  #options(): { signal?: AbortSignal } {
    return this.#signal === undefined ? {} : { signal: this.#signal };
  }

  #adopt(lease: Lease): RingSlot {
    if (this.#closed) {
      lease.release();
      throw new ClosedError('pump'); // it failed while this block was being leased
    }
    const slot: RingSlot = { lease, onWritten: () => this.#written(slot) };
    this.#slots.push(slot);
    return slot;
  }

  /** Mark `slot` as handed to the destination. */
  send(_slot: RingSlot): void {
    this.#inFlight++;
  }

  /** Return a block that was taken but not written. */
  giveBack(slot: RingSlot): void {
    this.#free.push(slot);
  }

  #written(slot: RingSlot): void {
    this.#inFlight--;
    this.#free.push(slot);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #nextWrite(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await this.#nextWrite();
  }

  /** Release every block. Call only when the destination can no longer read them. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.splice(0)) slot.lease.release();
    this.#free.length = 0;
  }
}
