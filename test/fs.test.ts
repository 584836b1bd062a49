import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { UnsupportedError } from '../src/errors.js';
import { dropCache, residency, writeFileNoCache } from '../src/fs/index.js';
import { capabilities, nativeAvailable } from '../src/native/index.js';
import { chunk, MiB, sha256, shmAvailable, tempDir } from './fs-helpers.js';

const native = nativeAvailable();
const WINDOW = 8 * MiB;
const chunks64 = Array.from({ length: 64 }, (_, i) => chunk(i));
const hash64 = sha256(...chunks64);

test('capabilities() on this filesystem', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const caps = await capabilities(dir);
  assert.equal(caps.native.available, true);
  assert.equal(caps.fadvise.available, true);
  assert.equal(caps.syncFileRange.available, true);
  // Answered from the per-filesystem cache the second time: same object contents.
  assert.deepEqual(await capabilities(dir), caps);
  assert.equal(typeof caps.filesystem.type, 'string');
});

test('writeFileNoCache of 64 MiB leaves at most one window cached; fs.promises.writeFile leaves it all', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'nocache.bin');
  const r = await writeFileNoCache(a, chunks64);
  assert.equal(r.bytesWritten, 64 * MiB);
  const ra = await residency(a);
  assert.equal(ra.bytes, 64 * MiB);
  assert.ok(ra.cachedBytes <= WINDOW, `no-cache: ${ra.cachedBytes} bytes cached (${r.strategy})`);

  const b = join(dir, 'plain.bin');
  await writeFile(b, chunks64);
  const rb = await residency(b);
  assert.ok(rb.cachedBytes >= 60 * MiB, `plain writeFile: only ${rb.cachedBytes} bytes cached`);
  assert.equal(sha256(await readFile(a)), hash64);
});

for (const strategy of ['dontcache', 'windowed'] as const) {
  test(`strategy '${strategy}' forced: bounded cache, exact content`, async (t) => {
    const dir = await tempDir(t);
    const caps = native ? await capabilities(dir) : null;
    if (caps === null || (strategy === 'dontcache' && !caps.dontcache.available)) {
      t.skip(`not available here: ${caps?.dontcache.reason ?? 'native addon not loaded'}`);
      return;
    }
    const p = join(dir, `${strategy}.bin`);
    const r = await writeFileNoCache(p, chunks64, { strategy, windowBytes: 4 * MiB });
    assert.equal(r.strategy, strategy);
    const res = await residency(p);
    assert.ok(res.cachedBytes <= 4 * MiB, `${res.cachedBytes} bytes cached`);
    assert.equal(res.dirtyBytes, 0);
    assert.equal(sha256(await readFile(p)), hash64);
  });
}

test('tmpfs: auto falls back to plain writes, forced dontcache is refused', {
  skip: !shmAvailable && 'no /dev/shm',
}, async (t) => {
  const dir = await tempDir(t, '/dev/shm');
  const p = join(dir, 'shm.bin');
  const r = await writeFileNoCache(p, chunks64.slice(0, 8));
  assert.equal(r.strategy, native ? 'none' : 'none');
  assert.equal(sha256(await readFile(p)), sha256(...chunks64.slice(0, 8)));
  if (native) {
    const caps = await capabilities(dir);
    assert.equal(caps.memoryBacked, true);
    assert.equal(caps.dontcache.available, false);
    assert.match(caps.dontcache.reason ?? '', /EOPNOTSUPP|EINVAL/);
    await assert.rejects(
      writeFileNoCache(join(dir, 'x.bin'), chunks64[0] as Buffer, { strategy: 'dontcache' }),
      UnsupportedError,
    );
    assert.deepEqual(await readdir(dir), ['shm.bin']);
  }
});

test('dropCache empties a cached file; residency by mincore agrees with cachestat', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'cached.bin');
  await writeFile(p, chunks64.slice(0, 16));
  const before = await residency(p, { method: 'mincore' });
  assert.equal(before.method, 'mincore');
  assert.equal(before.exact, true);
  assert.ok(before.cachedBytes >= 15 * MiB, String(before.cachedBytes));
  const cs = await residency(p, { method: 'cachestat' });
  assert.equal(cs.cachedBytes, before.cachedBytes);
  await dropCache(p);
  const after = await residency(p);
  assert.equal(after.cachedBytes, 0);
  assert.equal(after.bytes, 16 * MiB);
  assert.equal(sha256(await readFile(p)), sha256(...chunks64.slice(0, 16)));
});

test('bad arguments name the option', async () => {
  await assert.rejects(writeFileNoCache('', Buffer.alloc(1)), /path must be/);
  await assert.rejects(
    writeFileNoCache('x', Buffer.alloc(1), { windowBytes: 1000 }),
    (e: unknown) => e instanceof RangeError && /windowBytes.*1000/.test(e.message),
  );
  await assert.rejects(
    writeFileNoCache('x', Buffer.alloc(1), { strategy: 'fast' as 'auto' }),
    (e: unknown) => e instanceof TypeError && /strategy.*fast/.test(e.message),
  );
  await assert.rejects(residency(-1), RangeError);
});
