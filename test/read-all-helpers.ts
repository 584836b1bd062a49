/** Sources and checks shared by the readAll and stream tests. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { BufferPool } from '../src/index.js';
import { MiB } from './helpers.js';

/** A fresh pool per test, so `inUseBytes` is ours alone. */
export function newPool(options: ConstructorParameters<typeof BufferPool>[0] = {}): BufferPool {
  return new BufferPool({ maxBytes: 128 * MiB, idleTrimMs: 0, ...options });
}

/** Split `data` into chunks of the given sizes (cycled). */
export function split(data: Uint8Array, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    out.push(Buffer.from(data.subarray(at, at + size)));
    at += size;
  }
  return out;
}

/** Assert nothing is leased from `pool`. */
export function assertNoLeases(pool: BufferPool): void {
  assert.equal(pool.stats().inUseBytes, 0, 'no lease in use');
}

/**
 * A Readable that yields `chunks` and then never ends (for aborts during reading). It emits
 * `'stall'` once, when it is first asked for more than it has: the reader now waits on it.
 */
export function stalledReadable(chunks: Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      const chunk = chunks[i++];
      if (chunk !== undefined) this.push(chunk);
      // else: stay silent, like a client that stopped sending
      else if (i === chunks.length + 1) process.nextTick(() => this.emit('stall'));
    },
  });
}

/** A Readable that yields `chunks` then fails with `error`. */
export function failingReadable(chunks: Buffer[], error: Error): Readable {
  let i = 0;
  return new Readable({
    read() {
      const chunk = chunks[i++];
      if (chunk !== undefined) this.push(chunk);
      else this.destroy(error);
    },
  });
}
