// One shape for errors from the kernel: whichever layer made the failing call (Node's fs or the
// native addon), the error is Node's fs error, so `err.code === 'ENOSPC'` needs no second case.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, read, rmSync, write } from 'node:fs';
import { mkdir, opendir, readdir, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type TestContext, test } from 'node:test';
import {
  createNoCacheWriteStream,
  DestinationError,
  readCgroupMemory,
  SlabioError,
  sweepStale,
  writeFileNoCache,
} from 'slabio';
import { nativeAvailable, preadv2, pwritev2 } from 'slabio/linux';
import { extractZip } from 'slabio/zip';
import { fixture, overlay } from './cgroup-helpers.js';
import { MiB, seededBytes, tempDir } from './helpers.js';
import { buildZip } from './zip-helpers.js';

const native = process.platform === 'linux' && nativeAvailable();
const MAX_FD = 0x7fffffff;

/** What a caller can see of an error: its class, name, own keys and their values, the message. */
function shape(err: unknown) {
  assert.ok(err instanceof Error, String(err));
  const e = err as NodeJS.ErrnoException;
  return {
    error: e instanceof Error && Object.getPrototypeOf(e) === Error.prototype,
    slabio: e instanceof SlabioError,
    name: e.name,
    keys: Object.keys(e).sort(),
    code: e.code,
    errno: e.errno,
    // Node's format: "<code>: <libuv's description>, <syscall>[ '<path>']".
    message: e.message.replace(`, ${e.syscall}`, ', <syscall>'),
  };
}

/** A fresh tmpfs of `size` under a temp directory, unmounted after the test; null when not permitted. */
function tmpfs(t: TestContext, size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'slabio-errors-test-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'slabio-test', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`mount not permitted here: ${String((err as Error).message).split('\n')[0]}`);
    return null;
  }
  t.after(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

async function failure(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e as NodeJS.ErrnoException,
  );
}

test("ENOSPC: writeFileNoCache and the write stream fail alike from Node's write and the addon's pwritev2", {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const mnt = tmpfs(t, '1m');
  if (mnt === null) return;
  const data = () => [0, 1, 2, 3].map((i) => seededBytes(MiB, i)); // 4 MiB into 1 MiB
  // 'none' writes with Node's FileHandle; 'windowed' with the addon's pwritev2.
  const viaNode = await failure(writeFileNoCache(join(mnt, 'a'), data(), { strategy: 'none' }));
  const viaAddon = await failure(
    writeFileNoCache(join(mnt, 'b'), data(), { strategy: 'windowed' }),
  );
  assert.match(String(viaNode.syscall), /^write/);
  assert.equal(viaAddon.syscall, 'pwritev2');
  const expected = {
    error: true,
    slabio: false,
    name: 'Error',
    keys: ['code', 'errno', 'syscall'],
    code: 'ENOSPC',
    errno: -constants.errno.ENOSPC,
    message: 'ENOSPC: no space left on device, <syscall>',
  };
  assert.deepEqual(shape(viaNode), expected);
  assert.deepEqual(shape(viaAddon), expected);
  for (const strategy of ['none', 'windowed'] as const) {
    const stream = createNoCacheWriteStream(join(mnt, `s-${strategy}`), { strategy });
    const err = await failure(pipeline(Readable.from(data()), stream));
    assert.deepEqual(shape(err), expected, strategy);
  }
  // Every partial file went with its failure.
  assert.deepEqual(await readdir(mnt), []);
});

test('ENOENT: writing into a missing directory names the file, with or without the addon', async (t) => {
  const target = join(await tempDir(t), 'missing', 'out.bin');
  const seen = [];
  for (const strategy of ['auto', 'none'] as const) {
    const err = await failure(writeFileNoCache(target, Buffer.from('x'), { strategy }));
    // Not the capability probe's stat of the directory: the open of the file.
    assert.deepEqual([err.code, err.syscall, err.path], ['ENOENT', 'open', target], strategy);
    const stream = createNoCacheWriteStream(target, { strategy });
    const streamErr = await failure(pipeline(Readable.from([Buffer.from('x')]), stream));
    assert.deepEqual(shape(streamErr), shape(err), strategy);
    seen.push(shape(err));
  }
  assert.deepEqual(seen[0], seen[1]);
});

test("EBADF and EISDIR: slabio/linux's calls fail as Node's fs calls on the same descriptor", {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const nodeWrite = (fd: number) =>
    new Promise((resolve, reject) =>
      write(fd, Buffer.from('x'), 0, 1, 0, (e) => (e ? reject(e) : resolve(null))),
    );
  const nodeRead = (fd: number) =>
    new Promise((resolve, reject) =>
      read(fd, Buffer.alloc(16), 0, 16, 0, (e) => (e ? reject(e) : resolve(null))),
    );
  const badf = {
    error: true,
    slabio: false,
    name: 'Error',
    keys: ['code', 'errno', 'syscall'],
    code: 'EBADF',
    errno: -constants.errno.EBADF,
    message: 'EBADF: bad file descriptor, <syscall>',
  };
  assert.deepEqual(shape(await failure(nodeWrite(MAX_FD))), badf);
  assert.deepEqual(shape(await failure(pwritev2(MAX_FD, [Buffer.from('x')], 0))), badf);

  const dir = await tempDir(t);
  const fd = openSync(dir, 'r');
  t.after(() => closeSync(fd));
  const isdir = {
    ...badf,
    code: 'EISDIR',
    errno: -constants.errno.EISDIR,
    message: 'EISDIR: illegal operation on a directory, <syscall>',
  };
  assert.deepEqual(shape(await failure(nodeRead(fd))), isdir);
  assert.deepEqual(shape(await failure(preadv2(fd, [Buffer.alloc(16)], 0))), isdir);
});

test("ENOENT: sweepStale of a missing directory fails exactly as Node's opendir, path included", async (t) => {
  const missing = join(await tempDir(t), 'missing');
  const ours = await failure(sweepStale(missing));
  const node = await failure(opendir(missing));
  assert.deepEqual(shape(ours), shape(node));
  assert.deepEqual([ours.code, ours.path], ['ENOENT', missing]);
  assert.equal(ours.message, `ENOENT: no such file or directory, opendir '${missing}'`);
});

test('extractZip: a destination filled during the extraction is the same DestinationError as one full before', async (t) => {
  const parent = await tempDir(t);
  const dest = join(parent, 'out');
  await mkdir(dest);
  const zip = buildZip([{ name: 'a.txt', data: Buffer.from('a') }]);
  const err = await failure(
    extractZip(zip, dest, {
      onEntry: async (entry) => {
        // Someone else writes into the (still empty) destination while the archive is extracted.
        await writeFile(join(dest, 'theirs.txt'), 'x');
        return { name: entry.name, data: Buffer.from('a') };
      },
    }),
  );
  assert.ok(err instanceof DestinationError, String(err));
  assert.equal(err.code, 'ERR_SLABIO_DESTINATION');
  assert.equal(err.reason, 'not-empty');
  assert.match(err.message, /was filled by someone else/);
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOTEMPTY');
  assert.deepEqual(await readdir(dest), ['theirs.txt']);
  assert.deepEqual((await readdir(parent)).sort(), ['out']);
  const before = await failure(extractZip(zip, dest));
  assert.ok(before instanceof DestinationError);
  assert.equal(before.reason, 'not-empty');
});

test("readCgroupMemory: memory.pressure failing with Node's name for EOPNOTSUPP (ENOTSUP, PSI off) is no pressure", async () => {
  const enotsup = Object.assign(new Error('ENOTSUP: operation not supported on socket, read'), {
    errno: -constants.errno.EOPNOTSUPP,
    code: 'ENOTSUP',
    syscall: 'read',
  });
  const m = await readCgroupMemory({
    root: fixture('v2'),
    readFile: overlay({ 'memory.pressure': enotsup }),
  });
  assert.equal(m.pressure, null);
});
