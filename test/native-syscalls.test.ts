import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SlabioError } from '../src/errors.js';
import { dropCache } from '../src/fs/index.js';
import { fadvise, nativeAvailable, preadv2, pwritev2, syncFileRange } from '../src/linux/index.js';
import { type LinuxBinding, loadBinding } from '../src/native/binding.js';
import { asNodeError, errnoName } from '../src/native/system-error.js';
import { tempDir } from './helpers.js';

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
  const path = join(await tempDir(t), 'f.bin');
  const fd = openSync(path, 'w+');
  t.after(() => closeSync(fd));
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
  await assert.rejects(pwritev2(MAX_FD, data, 0), { code: 'EBADF', errno: -constants.errno.EBADF });
  await assert.rejects(pwritev2(-1, data, 0), RangeError);
  await assert.rejects(pwritev2(1.5, data, 0), RangeError);
  await assert.rejects(pwritev2('3' as unknown as number, data, 0), {
    name: 'TypeError',
    message: /^fd must be an integer from 0 to 2147483647, got '3'$/,
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
      ['tryLock', () => raw.tryLock(bad)],
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
      message: new RegExp(`^advice must be one of 'normal', .*got '${bad}'$`),
    });
  }
  await assert.rejects(fadvise(fd, 0, 0, 4 as unknown as 'dontneed'), {
    name: 'TypeError',
    message: /^advice must be one of 'normal', .*got 4$/,
  });
  for (const ok of ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'noreuse'] as const) {
    await fadvise(fd, 0, 0, ok);
  }
});

/** A directory opened read-only: preadv2 on it fails with EISDIR, an errno the old C++ table lacked. */
async function dirFd(t: TestContext): Promise<number> {
  const fd = openSync(await tempDir(t), 'r');
  t.after(() => closeSync(fd));
  return fd;
}

test("a failed syscall is Node's fs error shape: the errno name as code, the negative number, Node's message", {
  skip,
}, async (t) => {
  const fd = await dirFd(t);
  const err = await preadv2(fd, [Buffer.alloc(16)], 0).then(
    () => assert.fail('preadv2 on a directory must fail'),
    (e: unknown) => e as NodeJS.ErrnoException,
  );
  assert.ok(err instanceof Error && !(err instanceof SlabioError));
  assert.equal(err.name, 'Error');
  assert.equal(err.code, 'EISDIR');
  assert.equal(err.errno, -constants.errno.EISDIR);
  assert.equal(err.syscall, 'preadv2');
  assert.equal(err.message, 'EISDIR: illegal operation on a directory, preadv2');
  assert.match(String(err.stack), /^Error: EISDIR: illegal operation on a directory, preadv2/);
  assert.equal('path' in err, false, 'a descriptor call has no path, as in Node');
  assert.equal('cause' in err, false);
});

test('the addon rejects with the negative errno, the syscall and the strerror text; TypeScript names it', {
  skip,
}, async (t) => {
  const fd = await dirFd(t);
  await assert.rejects(rawAddon().preadv2(fd, [Buffer.alloc(16)], 0, 0), (e: unknown) => {
    assert.ok(e instanceof Error);
    const { errno, syscall } = e as { errno?: unknown; syscall?: unknown };
    assert.equal(errno, -constants.errno.EISDIR);
    assert.equal(syscall, 'preadv2');
    assert.equal(e.message, 'Is a directory');
    // No name from C++: its table (strerrorname_np or 9 hand-written entries) is gone.
    assert.equal('code' in e, false);
    return true;
  });
});

test('errno names cover what the old 9-entry C++ table turned into UNKNOWN', () => {
  const names = ['EPERM', 'EDQUOT', 'EFBIG', 'EROFS', 'EAGAIN', 'EISDIR', 'EMFILE', 'ESTALE'];
  // Linux's EOPNOTSUPP is ENOTSUP, as Node names the number in its own fs errors.
  for (const [name, n] of [
    ...names.map((x) => [x, constants.errno[x as keyof typeof constants.errno]] as const),
    ['ENOTSUP', constants.errno.EOPNOTSUPP] as const,
    ['ENOSYS', constants.errno.ENOSYS] as const,
  ]) {
    assert.equal(errnoName(n), name);
    // Shaped as the addon sends it: a negative number, no name.
    const raw = Object.assign(new Error(`Text for ${name}`), { errno: -n, syscall: 'cachestat' });
    const e = asNodeError(raw) as NodeJS.ErrnoException;
    assert.ok(e === raw, 'given the shape in place');
    assert.deepEqual([e.code, e.errno, e.syscall], [name, -n, 'cachestat']);
    // libuv's description where it has one (as Node's messages), else the strerror text.
    assert.match(e.message, new RegExp(`^${name}: [a-z].*, cachestat$`));
  }
  assert.match(errnoName(100_000), /unknown/i);
  assert.throws(() => errnoName(0), RangeError);
  assert.throws(() => errnoName(-1), RangeError);
});

test('asNodeError: an error with a code comes back untouched; non-system errors pass through', () => {
  // Node's own system errors already have the shape.
  const nodeErr = Object.assign(new Error('EISDIR: illegal operation on a directory, read'), {
    errno: -constants.errno.EISDIR,
    code: 'EISDIR',
    syscall: 'read',
  });
  assert.equal(asNodeError(nodeErr), nodeErr);
  assert.equal(nodeErr.message, 'EISDIR: illegal operation on a directory, read');
  const type = new TypeError('bad');
  assert.equal(asNodeError(type), type);
  assert.equal(type.message, 'bad');
  assert.equal(asNodeError('reason'), 'reason');
  // With a path: Node's format for calls that take one.
  const raw = Object.assign(new Error('No such file or directory'), {
    errno: -constants.errno.ENOENT,
    syscall: 'opendir',
  });
  const e = asNodeError(raw, '/nowhere') as NodeJS.ErrnoException;
  assert.equal(e.message, "ENOENT: no such file or directory, opendir '/nowhere'");
  assert.equal(e.path, '/nowhere');
});

test("every promise-returning call of the loaded binding rejects with Node's fs error shape", {
  skip,
}, async () => {
  const b = loadBinding() as LinuxBinding;
  const c = b.constants;
  // 0x7fffffff: the largest fd checkFd accepts, far above any RLIMIT_NOFILE, so never open.
  const calls = (fd: number): [string, string, () => Promise<unknown>][] => [
    ['fadvise', 'posix_fadvise', () => b.fadvise(fd, 0, 0, c.POSIX_FADV_DONTNEED)],
    ['syncFileRange', 'sync_file_range', () => b.syncFileRange(fd, 0, 0, c.SYNC_FILE_RANGE_WRITE)],
    ['pwritev2', 'pwritev2', () => b.pwritev2(fd, [Buffer.from('x')], 0, 0)],
    ['preadv2', 'preadv2', () => b.preadv2(fd, [Buffer.alloc(1)], 0, 0)],
    ['cachestat', 'cachestat', () => b.cachestat(fd, 0, 0)],
    ['mincore', 'fstat', () => b.mincore(fd)],
    ['tryLock', 'flock', () => b.tryLock(fd)],
  ];
  const tooLarge = calls(MAX_FD + 1);
  for (const [i, [name, syscall, call]] of calls(MAX_FD).entries()) {
    await assert.rejects(call(), (e: unknown) => {
      const x = e as NodeJS.ErrnoException;
      assert.ok(x instanceof Error && !(x instanceof SlabioError), `${name}: ${String(x)}`);
      assert.equal(x.code, 'EBADF', name);
      assert.equal(x.errno, -constants.errno.EBADF, name);
      assert.equal(x.syscall, syscall, name);
      assert.equal(x.message, `EBADF: bad file descriptor, ${syscall}`, name);
      return true;
    });
    // The addon's own fd check sits in front of every call, for src/fs's callers too.
    assert.throws(tooLarge[i]?.[2] as () => unknown, RangeError, name);
  }
});

test("dropCache on a pipe: the kernel's ESPIPE, shaped once (not a second time by src/fs)", {
  skip,
}, async (t) => {
  // A FIFO opened read-write does not block and is a pipe: sync_file_range refuses it.
  const dir = await tempDir(t);
  const fifo = join(dir, 'fifo');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, 'r+');
  t.after(() => closeSync(fd));
  await assert.rejects(dropCache(fd), (e: unknown) => {
    const x = e as NodeJS.ErrnoException;
    assert.ok(x instanceof Error && !(x instanceof SlabioError), String(x));
    assert.deepEqual(
      [x.code, x.errno, x.syscall],
      ['ESPIPE', -constants.errno.ESPIPE, 'sync_file_range'],
    );
    assert.equal(x.message, 'ESPIPE: invalid seek, sync_file_range', 'shaped twice');
    return true;
  });
});

test('tryLock: flock(LOCK_EX | LOCK_NB) per open file description, let go on close', {
  skip,
}, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'locked');
  const b = loadBinding() as LinuxBinding;
  const holder = openSync(path, 'w');
  const other = openSync(path, 'r');
  try {
    assert.equal(await b.tryLock(holder), true);
    assert.equal(await b.tryLock(holder), true, 'the holder may take it again');
    assert.equal(await b.tryLock(other), false, 'another open of the file finds it held');
  } finally {
    closeSync(holder);
  }
  try {
    assert.equal(await b.tryLock(other), true, 'closing the holder let go of it');
  } finally {
    closeSync(other);
  }
});

test("scanDir: at most maxEntries entries, the names with the needle, Node's error with the path when unreadable", {
  skip,
}, async (t) => {
  const dir = await tempDir(t);
  for (const name of ['a', 'b', '.x.slabio-1', 'c.slabio-2'])
    closeSync(openSync(join(dir, name), 'w'));
  const b = loadBinding() as LinuxBinding;
  const all = await b.scanDir(dir, Number.MAX_SAFE_INTEGER, '.slabio-');
  assert.deepEqual(
    [all.names.sort(), all.scanned, all.complete],
    [['.x.slabio-1', 'c.slabio-2'], 4, true],
  );
  const some = await b.scanDir(dir, 2, '.slabio-');
  assert.deepEqual([some.scanned, some.complete], [2, false]);
  assert.deepEqual(await b.scanDir(dir, 0, ''), { names: [], scanned: 0, complete: false });
  const missing = join(dir, 'missing');
  await assert.rejects(b.scanDir(missing, 10, ''), (e: unknown) => {
    const x = e as NodeJS.ErrnoException;
    assert.deepEqual([x.code, x.syscall, x.path], ['ENOENT', 'opendir', missing]);
    assert.equal(x.message, `ENOENT: no such file or directory, opendir '${missing}'`);
    return true;
  });
  await assert.rejects(b.scanDir(join(dir, 'a'), 10, ''), { code: 'ENOTDIR' });
});
