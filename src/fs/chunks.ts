/** Turning what users pass (Buffers, strings, leases) into bytes. @module */
import { Lease } from '../pool/index.js';

/** A chunk the writers accept. Leases are released once written (or on failure). */
export type WriteChunk = Uint8Array | string | Lease;

/** The bytes of a chunk. @throws {TypeError} for anything else. */
export function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Lease) return chunk.buffer;
  throw new TypeError(
    `chunk must be a Buffer, Uint8Array, string or Lease, got ${chunk === null ? 'null' : typeof chunk}`,
  );
}

/** Release a chunk if it is an unreleased lease. */
export function releaseChunk(chunk: unknown): void {
  if (chunk instanceof Lease && !chunk.released) chunk.release();
}
