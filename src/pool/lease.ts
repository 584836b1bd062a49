/**
 * A lease: exclusive use of one pooled buffer until `release()`.
 *
 * @module
 */
import { DoubleReleaseError, UseAfterReleaseError } from '../errors.js';
import { checkInteger } from '../validate.js';
import type { Block } from './size-class.js';

/** @internal What a lease reports back to on release. */
export interface LeaseOwner {
  releaseLease(lease: Lease, block: Block | null, budgetBytes: number, tracked: boolean): void;
}

/**
 * Exclusive use of a pooled buffer. Obtain one from `pool.acquire(size)`; give it back with
 * `release()` or let `using` do it:
 *
 * @example
 * ```ts
 * {
 *   using lease = pool.acquire(150 * 1024);
 *   await handle.read(lease.buffer, 0, lease.buffer.length, 0);
 *   hash.update(lease.buffer);
 * } // released here, also when the block throws
 * ```
 *
 * The buffer is not zero-filled (like `Buffer.allocUnsafe`): it may hold an earlier lease's bytes.
 * After `release()` the buffer must not be used; the `buffer` getter then throws
 * `ERR_SLABIO_RELEASED`, and in debug mode any view kept from before is detached (length 0).
 */
export class Lease {
  #owner: LeaseOwner;
  #block: Block | null;
  #buffer: Buffer;
  #capacity: number;
  #budgetBytes: number;
  #released = false;
  #tracked: boolean;

  /** @internal Leases are created by a pool, never directly. */
  constructor(
    owner: LeaseOwner,
    block: Block | null,
    buffer: Buffer,
    capacity: number,
    budgetBytes: number,
    tracked: boolean,
  ) {
    this.#owner = owner;
    this.#budgetBytes = budgetBytes;
    this.#block = block;
    this.#buffer = buffer;
    this.#capacity = capacity;
    this.#tracked = tracked;
  }

  /**
   * The leased memory: a `Buffer` of exactly the requested length (or the `truncate()`d length).
   * @throws {UseAfterReleaseError} `ERR_SLABIO_RELEASED` after `release()`.
   */
  get buffer(): Buffer {
    if (this.#released) throw new UseAfterReleaseError();
    return this.#buffer;
  }

  /** The block's size: the size class that served the request (the request itself when oversize). */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * @internal The bytes this lease adds to `owner`'s bytes in use: its capacity for a block, its
   * size for an oversize buffer, 0 for a buffer outside the budget, a released lease or a lease of
   * another pool.
   */
  heldIn(owner: LeaseOwner): number {
    if (this.#released || owner !== this.#owner) return 0;
    return this.#block === null ? this.#budgetBytes : this.#capacity;
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Shrink `buffer` to its first `length` bytes (the block stays the same). Used when fewer bytes
   * arrived than were reserved.
   * @throws {RangeError} when `length` is not an integer between 0 and the current length
   * (`TypeError` when it is not a number).
   * @throws {UseAfterReleaseError} `ERR_SLABIO_RELEASED` after `release()`.
   */
  truncate(length: number): void {
    const buffer = this.buffer;
    checkInteger('length', length, { max: buffer.length });
    this.#buffer = buffer.subarray(0, length);
  }

  /**
   * Give the block back to the pool. The lease and its buffer must not be used afterwards.
   * @throws {DoubleReleaseError} `ERR_SLABIO_DOUBLE_RELEASE` when already released.
   */
  release(): void {
    if (this.#released) throw new DoubleReleaseError();
    this.#released = true;
    const block = this.#block;
    this.#block = null;
    this.#owner.releaseLease(this, block, this.#budgetBytes, this.#tracked);
  }

  /** Release unless already released, so `using` and an explicit `release()` can be combined. */
  [Symbol.dispose](): void {
    if (!this.#released) this.release();
  }
}
