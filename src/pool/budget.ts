/**
 * The pool's byte budget: reserving slabs and oversize buffers under `maxBytes`, and dropping
 * idle slabs to make room or on trim. Internal to the pool.
 *
 * @module
 */
import { returnToOsWhenCollected } from './reclaim.js';
import type { SizeClass, Slab } from './size-class.js';
import type { PoolCounters } from './stats.js';

export class Budget {
  readonly #maxBytes: number;
  readonly #classes: readonly SizeClass[];
  readonly #counters: PoolCounters;
  readonly #onEvict: (freedBytes: number) => void;

  /** `onEvict` hears of idle slabs dropped to make room (diagnostics only). */
  constructor(
    maxBytes: number,
    classes: readonly SizeClass[],
    counters: PoolCounters,
    onEvict: (freedBytes: number) => void,
  ) {
    this.#maxBytes = maxBytes;
    this.#classes = classes;
    this.#counters = counters;
    this.#onEvict = onEvict;
  }

  /** Bytes that may still be reserved. */
  available(): number {
    return this.#maxBytes - this.#counters.reservedBytes;
  }

  /** Whether `bytes` fit, after dropping idle slabs (longest idle first) as far as needed. */
  fits(bytes: number): boolean {
    if (bytes <= this.available()) return true;
    // Under contention every release retries the head waiter: skip the scan when nothing is idle.
    if (this.idleBytes() === 0) return false;
    this.#evictIdle(bytes - this.available());
    return bytes <= this.available();
  }

  /** How many blocks `cls` may reserve now: a full slab if it fits, else as many as do. */
  grant(cls: SizeClass): number {
    this.fits(cls.blocksPerSlab * cls.size);
    return Math.min(cls.blocksPerSlab, Math.floor(this.available() / cls.size));
  }

  /** Count `bytes` as reserved (the caller checked they fit). */
  reserve(bytes: number): void {
    const counters = this.#counters;
    counters.reservedBytes += bytes;
    if (counters.reservedBytes > counters.highWaterBytes) {
      counters.highWaterBytes = counters.reservedBytes;
    }
  }

  /** Count an oversize buffer of `bytes` as reserved and in use (the caller checked they fit). */
  reserveOversize(bytes: number): void {
    this.reserve(bytes);
    this.#counters.oversize++;
    this.#counters.oversizeBytes += bytes;
  }

  /** An oversize buffer of `bytes` came back (or was collected): its bytes may be reserved again. */
  releaseOversize(bytes: number): void {
    this.#counters.reservedBytes -= bytes;
    this.#counters.oversizeBytes -= bytes;
  }

  /** Drop an idle slab: its memory goes back to the OS once V8 has collected it. */
  drop(slab: Slab): number {
    slab.owner.drop(slab);
    this.#counters.reservedBytes -= slab.bytes;
    this.#counters.trimmedBytes += slab.bytes;
    returnToOsWhenCollected(slab.ab);
    return slab.bytes;
  }

  /** Drop every slab that went idle at or before logical time `mark`; returns the bytes. */
  dropIdle(mark: number): number {
    let freed = 0;
    for (const cls of this.#classes) {
      for (const slab of [...cls.slabs]) {
        if (slab.idleSince >= 0 && slab.idleSince <= mark) freed += this.drop(slab);
      }
    }
    return freed;
  }

  /** Bytes of slabs whose blocks are all free, over all classes. */
  idleBytes(): number {
    let bytes = 0;
    for (const cls of this.#classes) bytes += cls.idleBytes;
    return bytes;
  }

  /**
   * Drop idle slabs, longest idle first, until the idle bytes are within `allowance`, but keep
   * the most recently idle slab of every class: a class that is used at all keeps one slab ready.
   * Returns the bytes dropped.
   */
  capIdle(allowance: number): number {
    let excess = this.idleBytes() - allowance;
    if (excess <= 0) return 0;
    const idle: Slab[] = [];
    for (const cls of this.#classes) {
      if (cls.idleSlabs < 2) continue;
      let newest: Slab | undefined;
      for (const slab of cls.slabs) {
        if (slab.idleSince < 0) continue;
        idle.push(slab);
        if (newest === undefined || slab.idleSince > newest.idleSince) newest = slab;
      }
      idle.splice(idle.indexOf(newest as Slab), 1);
    }
    idle.sort((a, b) => a.idleSince - b.idleSince);
    let freed = 0;
    for (const slab of idle) {
      if (excess <= 0) break;
      const bytes = this.drop(slab);
      freed += bytes;
      excess -= bytes;
    }
    return freed;
  }

  /** Slabs reserved now, over all classes. */
  slabCount(): number {
    let n = 0;
    for (const cls of this.#classes) n += cls.slabs.length;
    return n;
  }

  /** Drop idle slabs, longest idle first, until `bytes` are freed or none are left. */
  #evictIdle(bytes: number): void {
    const idle: Slab[] = [];
    for (const cls of this.#classes) {
      for (const slab of cls.slabs) if (slab.idleSince >= 0) idle.push(slab);
    }
    idle.sort((a, b) => a.idleSince - b.idleSince);
    let freed = 0;
    for (const slab of idle) {
      if (freed >= bytes) break;
      freed += this.drop(slab);
    }
    if (freed > 0) this.#onEvict(freed);
  }
}
