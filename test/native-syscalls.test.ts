import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LinuxBinding } from '../src/native/binding.js';
import { fadvise, nativeAvailable, preadv2, pwritev2, syncFileRange } from '../src/native/index.js';

const skip = process.platform !== 'linux' || !nativeAvailable() ? 'native addon not loaded' : false;
const MAX_FD = 0x7fffffff;

/** The addon exactly as node-gyp-build loads it, without slabio's TypeScript layer in front. */
function rawAddon(): LinuxBinding {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => LinuxBinding;
  // dist/test/<file>.js -> the package root, where build/ is.
  return nodeGypBuild(fileURLToPath(new URL('../../', import.meta.url)));
}

/** A temp file opened for writing; closed and removed after the test. */
async function tempFile(t: TestContext): Promise<{ path: string; fd: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'slabio-native-test-'));
  const path = join(dir, 'f.bin');
  const fd = openSync(path, 'w+');
  t.after(async () => {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  });
  return { path, fd };
}

test('fd above 0x7fffffff is a RangeError naming fd, not a write into fd mod 2^32', {
  skip,
}, async (t) => {
  const { path, fd } = await tempFile(t);
  const bogus = 2 ** 32 + fd;
  const data = [Buffer.from('must not be written')];
  await assert.rejects(pwritev2(bogus, data, 0), {
    name: 'RangeError',
    message: new RegExp(`^fd .*got ${bogus}$`),
  });
  await assert.rejects(preadv2(bogus, [Buffer.alloc(8)], 0), RangeError);
  await assert.rejects(fadvise(bogus, 0, 0, 'dontneed'), RangeError);
  await assert.rejects(syncFileRange(bogus, 0, 0), RangeError);
  // The edges: 2^31 is the first refused value; 2^31 - 1 is accepted and reaches the kernel (EBADF).
  await assert.rejects(pwritev2(MAX_FD + 1, data, 0), {
    name: 'RangeError',
    message: /2147483648/,
  });
  await assert.rejects(pwritev2(MAX_FD, data, 0), { code: 'ERR_SLABIO_SYSTEM', errno: 'EBADF' });
  await assert.rejects(pwritev2(-1, data, 0), RangeError);
  await assert.rejects(pwritev2(1.5, data, 0), RangeError);
  await assert.rejects(pwritev2('3' as unknown as number, data, 0), {
    name: 'TypeError',
    message: /^fd must be a number, got string$/,
  });
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('the addon itself refuses an fd outside 0..0x7fffffff (no int truncation in C++)', {
  skip,
}, async (t) => {
  const { path, fd } = await tempFile(t);
  const raw = rawAddon();
  const c = raw.constants;
  for (const bad of [2 ** 32 + fd, MAX_FD + 1, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    const calls: [string, () => unknown][] = [
      ['pwritev2', () => raw.pwritev2(bad, [Buffer.from('x')], 0, 0)],
      ['preadv2', () => raw.preadv2(bad, [Buffer.alloc(1)], 0, 0)],
      ['fadvise', () => raw.fadvise(bad, 0, 0, c.POSIX_FADV_DONTNEED)],
      ['syncFileRange', () => raw.syncFileRange(bad, 0, 0, c.SYNC_FILE_RANGE_WRITE)],
      ['cachestat', () => raw.cachestat(bad, 0, 0)],
      ['mincore', () => raw.mincore(bad)],
    ];
    for (const [name, call] of calls) {
      assert.throws(
        call,
        { name: 'RangeError', message: /^fd must be an integer/ },
        `${name}(${bad})`,
      );
    }
  }
  assert.equal(readFileSync(path, 'utf8'), '');
  // In range still works.
  assert.equal(await raw.pwritev2(fd, [Buffer.from('ok')], 0, 0), 2);
  assert.equal(readFileSync(path, 'utf8'), 'ok');
});

test('fadvise advice must be an own name: inherited properties are a RangeError naming advice', {
  skip,
}, async (t) => {
  const { fd } = await tempFile(t);
  for (const bad of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'DONTNEED', '']) {
    await assert.rejects(fadvise(fd, 0, 0, bad as 'dontneed'), {
      name: 'RangeError',
      message: new RegExp(`^advice must be one of normal, .*got '${bad}'$`),
    });
  }
  await assert.rejects(fadvise(fd, 0, 0, 4 as unknown as 'dontneed'), {
    name: 'TypeError',
    message: /^advice must be a string, got number$/,
  });
  for (const ok of ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'noreuse'] as const) {
    await fadvise(fd, 0, 0, ok);
  }
});
