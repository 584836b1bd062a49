/**
 * The result of `readAllChunks`.
 *
 * @module
 */
import { DoubleReleaseError, UseAfterReleaseError } from '../errors.js';
import type { Lease } from '../pool/index.js';

/**
 * A source's bytes as a list of pooled blocks, in order, without the final copy into one buffer:
 * for writing with `writev` / `filehandle.writev`, hashing, or parsing across chunks. Owns its
 * leases: release them all with `release()` or `using`.
 *
 * @example
 * ```ts
 * using body = await readAllChunks(req, { maxBytes: 64 << 20 });
 * await handle.writev(body.chunks);
 * ```
 */
export class ChunkList {
  readonly #leases: Lease[];
  readonly #chunks: readonly Buffer[];
  readonly #length: number;
  #released = false;

  /** @internal Created by `readAllChunks`. */
  constructor(leases: Lease[], length: number) {
    this.#leases = leases;
    this.#chunks = Object.freeze(leases.map((lease) => lease.buffer));
    this.#length = length;
  }

  /**
   * The chunks, in order; only the last may be shorter than its block. Empty for an empty source.
   * @throws {UseAfterReleaseError} `ERR_SLABIO_RELEASED` after `release()`.
   */
  get chunks(): readonly Buffer[] {
    if (this.#released) throw new UseAfterReleaseError();
    return this.#chunks;
  }

  /** Total bytes over all chunks. */
  get length(): number {
    return this.#length;
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Give every block back to the pool.
   * @throws {DoubleReleaseError} `ERR_SLABIO_DOUBLE_RELEASE` when already released.
   */
  release(): void {
    if (this.#released) throw new DoubleReleaseError();
    this.#released = true;
    for (const lease of this.#leases) lease.release();
  }

  /** Release unless already released, so `using` and `release()` can be combined. */
  [Symbol.dispose](): void {
    if (!this.#released) this.release();
  }
}
