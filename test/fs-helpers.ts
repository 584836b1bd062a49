import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const MiB = 1 << 20;

export function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Deterministic pseudo-random chunk (so the hash check is not fooled by zero pages). */
export function chunk(i: number, size = MiB): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (i + 1) * 2654435761;
  for (let o = 0; o < size; o += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b.writeUInt32LE(x, o);
  }
  return b;
}

/** A temp directory under `base` (default os.tmpdir()), removed after the test. */
export async function tempDir(t: TestContext, base = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(base, 'slabio-fs-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const shmAvailable = process.platform === 'linux' && existsSync('/dev/shm');
