import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LengthMismatchError, LimitExceededError, UnsupportedError } from '../src/errors.js';
import { dropCache, readFileNoCache, residency, writeFileNoCache } from '../src/fs/index.js';
import { capabilities } from '../src/index.js';
import { nativeAvailable } from '../src/linux/index.js';
import { type LinuxBinding, loadBinding } from '../src/native/binding.js';
import { asNodeError } from '../src/native/system-error.js';
import { BufferPool } from '../src/pool/index.js';
import { readFilePooled } from '../src/read-all/index.js';
import { shmAvailable } from './fs-helpers.js';
import { MiB, seededBytes, sha256, tempDir } from './helpers.js';

const native = nativeAvailable();
const WINDOW = 8 * MiB;
const chunks64 = Array.from({ length: 64 }, (_, i) => seededBytes(MiB, i));
const hash64 = sha256(...chunks64);

test('capabilities() on this filesystem', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const caps = await capabilities(dir);
  assert.equal(caps.native.available, true);
  // The repository's own build/ wins over prebuilds/ (node-gyp-build's order).
  assert.equal(caps.addon.source, 'local-build');
  assert.match(caps.addon.path ?? '', /build[/\\]Release[/\\]slabio\.node$/);
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
    assert.match(caps.dontcache.reason ?? '', /EOPNOTSUPP|ENOTSUP|EINVAL/);
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
    (e: unknown) => e instanceof RangeError && /strategy.*'fast'/.test(e.message),
  );
  await assert.rejects(residency(-1), RangeError);
});

test('readFileNoCache of a /proc file reads it to its end, as readFilePooled does', async () => {
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const strategies = native ? (['auto', 'fadvise', 'none'] as const) : (['auto', 'none'] as const);
  for (const strategy of strategies) {
    // fstat says 0 bytes; the old reader believed it and returned an empty lease, and 'auto'
    // failed outright trying to create a probe file in /proc/self.
    const lease = await readFileNoCache('/proc/self/status', { pool, strategy });
    try {
      assert.match(lease.buffer.toString('latin1'), /^Name:\t.*\n[\s\S]*VmRSS:/, strategy);
    } finally {
      lease.release();
    }
  }
  await assert.rejects(
    readFileNoCache('/proc/self/status', { pool, maxBytes: 16 }),
    (e: unknown) => e instanceof LimitExceededError && e.limit === 16,
  );
  assert.equal(pool.stats().inUseBytes, 0);
});

test('readFileNoCache of a FIFO reads until the writer closes it', {
  skip: process.platform !== 'linux' && 'mkfifo is tested on Linux',
}, async (t) => {
  const dir = await tempDir(t);
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const body = seededBytes(300 * 1024, 3); // more than one 64 KiB pipe read
  const [lease] = await Promise.all([readFileNoCache(fifo, { pool }), writeFile(fifo, body)]);
  try {
    assert.equal(sha256(lease.buffer), sha256(body));
  } finally {
    lease.release();
  }
  assert.equal(pool.stats().inUseBytes, 0);
});

test('readFileNoCache of a file that shrinks while read rejects like readFilePooled', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'shrinks.bin');
  await writeFile(p, seededBytes(MiB, 1));
  const pool = new BufferPool({ maxBytes: 16 * MiB, onExhausted: 'wait' });
  for (const read of [() => readFileNoCache(p, { pool }), () => readFilePooled(p, { pool })]) {
    await writeFile(p, seededBytes(MiB, 1));
    // Hold the whole budget so the read stops after fstat, waiting for its block; shrink the file
    // then, and let the read go on.
    const hog = pool.acquire(16 * MiB);
    const pending = read();
    pending.catch(() => {});
    while (pool.stats().waiting === 0) await new Promise((r) => setImmediate(r));
    await truncate(p, 100);
    hog.release();
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof LengthMismatchError && e.expected === MiB && e.actual === 100,
    );
    assert.equal(pool.stats().inUseBytes, 0);
  }
});

test('readFileNoCache on a read-only mount creates nothing next to the input', async (t) => {
  const dir = await tempDir(t);
  const mnt = join(dir, 'ro');
  await mkdir(mnt);
  // A fresh tmpfs has its own device id, so no capability probe cached for another filesystem
  // can answer for it.
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'slabio-test', mnt], { stdio: 'pipe' });
  } catch (err) {
    t.skip(`mount not permitted here: ${String((err as Error).message).split('\n')[0]}`);
    return;
  }
  // Unmounted before tempDir's own cleanup removes the directory (t.after hooks run in order).
  try {
    await writeFile(join(mnt, 'in.txt'), 'read-only input\n');
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const lease = await readFileNoCache(join(mnt, 'in.txt'));
    try {
      assert.equal(lease.buffer.toString(), 'read-only input\n');
    } finally {
      lease.release();
    }
    assert.deepEqual(await readdir(mnt), ['in.txt']);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('readFileNoCache: a forced strategy that cannot work here is an UnsupportedError, as for writes', {
  skip: !native && 'native addon not loaded (the addon-less case is the next test)',
}, async (t) => {
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const unsupported = (e: unknown): boolean =>
    e instanceof UnsupportedError && e.code === 'ERR_SLABIO_UNSUPPORTED';
  // procfs has no uncached buffered IO: preadv2(RWF_DONTCACHE) is refused.
  await assert.rejects(
    readFileNoCache('/proc/self/status', { pool, strategy: 'dontcache' }),
    unsupported,
  );
  if (shmAvailable) {
    const dir = await tempDir(t, '/dev/shm');
    const p = join(dir, 'in.bin');
    await writeFile(p, seededBytes(MiB, 2));
    await assert.rejects(readFileNoCache(p, { pool, strategy: 'dontcache' }), unsupported);
    const auto = await readFileNoCache(p, { pool });
    assert.equal(sha256(auto.buffer), sha256(seededBytes(MiB, 2)));
    auto.release();
  }
  // A character device has no page cache to drop: 'auto' reads it, a forced strategy is refused.
  for (const strategy of ['dontcache', 'fadvise'] as const) {
    await assert.rejects(readFileNoCache('/dev/null', { pool, strategy }), unsupported);
  }
  const empty = await readFileNoCache('/dev/null', { pool });
  assert.equal(empty.buffer.length, 0);
  empty.release();
  assert.equal(pool.stats().inUseBytes, 0);
});

test('readFileNoCache without the addon: forced strategies throw UnsupportedError, auto reads normally', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'in.txt');
  await writeFile(p, 'plain read\n');
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `
    const m = await import(${JSON.stringify(index)});
    const codes = {};
    for (const strategy of ['dontcache', 'fadvise']) {
      codes[strategy] = await m.readFileNoCache(${JSON.stringify(p)}, { strategy }).then(
        (l) => { l.release(); return 'read'; },
        (e) => e.code,
      );
    }
    const auto = await m.readFileNoCache(${JSON.stringify(p)});
    console.log(JSON.stringify({ codes, auto: auto.buffer.toString() }));
    auto.release();
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SLABIO_NATIVE: '0' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  assert.deepEqual(JSON.parse(out), {
    codes: { dontcache: 'ERR_SLABIO_UNSUPPORTED', fadvise: 'ERR_SLABIO_UNSUPPORTED' },
    auto: 'plain read\n',
  });
});

test('residency falls back to mincore when cachestat is refused (ENOSYS: old kernel, EPERM: seccomp)', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'resident.bin');
  await writeFile(file, seededBytes(MiB, 1));
  const b = loadBinding() as LinuxBinding;
  const original = b.cachestat;
  t.after(() => {
    b.cachestat = original;
  });
  // As the loaded binding rejects: the addon's error given Node's shape.
  const refusal = (name: 'ENOSYS' | 'EPERM' | 'EIO') =>
    asNodeError(
      Object.assign(new Error('text'), { errno: -constants.errno[name], syscall: 'cachestat' }),
    );
  for (const errno of ['ENOSYS', 'EPERM'] as const) {
    b.cachestat = () => Promise.reject(refusal(errno));
    const r = await residency(file);
    assert.equal(r.method, 'mincore', errno);
    assert.equal(r.bytes, MiB);
    await assert.rejects(residency(file, { method: 'cachestat' }), { code: errno });
  }
  b.cachestat = () => Promise.reject(refusal('EIO'));
  await assert.rejects(
    residency(file),
    (e: unknown) => e instanceof Error && (e as NodeJS.ErrnoException).code === 'EIO',
  );
});
