/**
 * What most test files need: sizes, temp directories removed after the test, deterministic bytes,
 * hashes, and waits that are bounded in time. Topic helpers (zip records, FIFOs, cgroups, images)
 * live in their own `*-helpers.ts`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, type TestContext } from 'node:test';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Hex SHA-256 of the parts, concatenated. */
export function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** A fresh directory under `base` (default os.tmpdir()), removed after the test. */
export async function tempDir(t: TestContext, base = tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'slabio-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh directory for a whole test file, made now and removed after its last test. Call it at
 * module level: node:test's `after` then belongs to the file.
 */
export function fileTempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'slabio-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write `data` to a new file in a fresh temp directory and return its path. */
export async function tempFile(
  t: TestContext,
  data: Uint8Array,
  name = 'data.bin',
): Promise<string> {
  const file = path.join(await tempDir(t), name);
  await writeFile(file, data);
  return file;
}

/**
 * `n` pseudo-random bytes, the same for the same seed (xorshift32): a shifted or reordered copy
 * does not match, and a hash check is not fooled by zero pages.
 */
export function seededBytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = Math.imul(seed + 1, 2654435761) >>> 0 || 1; // xorshift never leaves 0
  for (let o = 0; o < n; o += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    if (o + 4 <= n) b.writeUInt32LE(x, o);
    else for (let k = 0; o + k < n; k++) b[o + k] = (x >>> (8 * k)) & 0xff;
  }
  return b;
}

/** `n` incompressible bytes, the same for the same seed (SHA-256 in counter mode). */
export function noise(n: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let at = 0, i = 0; at < n; at += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  }
  return out;
}

/** Resolve after the current macrotask queue has drained (lets streams act on a destroy). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolve with `p`'s outcome, or `'pending'` after `ms`. */
export async function within<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ value: T } | { error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      p.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Poll `check` every 5 ms for at most `ms`; true once it held. Only for conditions that announce
 * themselves with no event (a descriptor in /proc, a counter in `stats()`).
 */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return check();
}
