/** Sources and checks shared by the readAll and stream tests. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { BufferPool } from '../src/index.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A fresh pool per test, so `inUseBytes` is ours alone. */
export function newPool(options: ConstructorParameters<typeof BufferPool>[0] = {}): BufferPool {
  return new BufferPool({ maxBytes: 128 * MiB, idleTrimMs: 0, ...options });
}

/** `n` bytes of a pattern that a shifted or reordered copy would not match. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
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

/** A Readable that yields `chunks` and then never ends (for aborts during reading). */
export function stalledReadable(chunks: Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      const chunk = chunks[i++];
      if (chunk !== undefined) this.push(chunk);
      // else: stay silent, like a client that stopped sending
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

/** A temp dir removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slabio-read-all-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Write `data` to a new temp file and return its path. */
export async function tempFile(
  t: TestContext,
  data: Uint8Array,
  name = 'data.bin',
): Promise<string> {
  const file = path.join(await tempDir(t), name);
  await writeFile(file, data);
  return file;
}

/** Resolve after the current macrotask queue has drained (lets streams act on a destroy). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
