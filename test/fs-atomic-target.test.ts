import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, it, type TestContext } from 'node:test';
import { createNoCacheWriteStream, DestinationError, writeFileNoCache } from '../src/index.js';
import { tempDir } from './helpers.js';

/** The two atomic writers, each writing `text` to `path`. */
const writers: [string, (path: string, text: string) => Promise<void>][] = [
  [
    'writeFileNoCache',
    async (path, text) => {
      await writeFileNoCache(path, text, { atomic: true });
    },
  ],
  [
    'createNoCacheWriteStream',
    (path, text) => pipeline([text], createNoCacheWriteStream(path, { atomic: true })),
  ],
];

/** A unix socket file at `path`, closed (and its file left in place) after the test. */
async function socketFile(t: TestContext, path: string): Promise<void> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

const isRoot = process.getuid?.() === 0;

/** Special files the rename would replace, made inside `dir`. */
const specials: [string, (t: TestContext, path: string) => Promise<void>, string | false][] = [
  ['a FIFO', async (_t, p) => void execFileSync('mkfifo', [p]), false],
  ['a directory', async (_t, p) => void (await mkdir(p)), false],
  ['a unix socket', socketFile, false],
  // mknod needs CAP_MKNOD; the device is made inside the test's own directory (1,3 is null).
  [
    'a character device',
    async (_t, p) => void execFileSync('mknod', [p, 'c', '1', '3']),
    isRoot ? false : 'mknod needs root',
  ],
];

function assertNotFile(err: unknown, target: string): true {
  assert.ok(err instanceof DestinationError, String(err));
  assert.equal(err.code, 'ERR_SLABIO_DESTINATION');
  assert.equal(err.reason, 'not-file');
  assert.equal(err.destination, target);
  return true;
}

for (const [writer, write] of writers) {
  describe(`${writer} atomic: what sits at the path`, () => {
    for (const [what, make, skip] of specials) {
      it(`refuses ${what} before any temp file, and leaves it as it was`, { skip }, async (t) => {
        const dir = await tempDir(t);
        const target = join(dir, 'out');
        await make(t, target);
        const before = await lstat(target);
        await assert.rejects(write(target, 'hello'), (err) => assertNotFile(err, target));
        const after = await lstat(target);
        assert.equal(after.ino, before.ino);
        assert.equal(after.mode, before.mode);
        assert.deepEqual(await readdir(dir), ['out']);
      });

      it(`refuses ${what} reached through a symbolic link`, { skip }, async (t) => {
        const dir = await tempDir(t);
        const target = join(dir, 'special');
        await make(t, target);
        const before = await lstat(target);
        await symlink('special', join(dir, 'link'));
        await assert.rejects(write(join(dir, 'link'), 'hello'), (err) =>
          assertNotFile(err, target),
        );
        assert.equal((await lstat(target)).ino, before.ino);
        assert.equal(await readlink(join(dir, 'link')), 'special');
        assert.deepEqual((await readdir(dir)).sort(), ['link', 'special']);
      });
    }

    it('writes through a symbolic link to a file: the link stays, its target changes', async (t) => {
      const dir = await tempDir(t);
      await mkdir(join(dir, 'data'));
      await writeFile(join(dir, 'data', 'real.txt'), 'old contents');
      await symlink('data/real.txt', join(dir, 'link'));
      // A second link in the chain, and one relative through `..`.
      await mkdir(join(dir, 'links'));
      await symlink('../link', join(dir, 'links', 'outer'));
      await write(join(dir, 'links', 'outer'), 'new');
      assert.ok((await lstat(join(dir, 'link'))).isSymbolicLink());
      assert.ok((await lstat(join(dir, 'links', 'outer'))).isSymbolicLink());
      assert.equal(await readFile(join(dir, 'data', 'real.txt'), 'utf8'), 'new');
      assert.deepEqual((await readdir(dir)).sort(), ['data', 'link', 'links']);
      assert.deepEqual(await readdir(join(dir, 'data')), ['real.txt']);
    });

    it("creates a dangling link's target, as writing through the link does", async (t) => {
      const dir = await tempDir(t);
      await mkdir(join(dir, 'data'));
      await symlink('data/missing.txt', join(dir, 'link'));
      await write(join(dir, 'link'), 'created');
      assert.ok((await lstat(join(dir, 'link'))).isSymbolicLink());
      assert.equal(await readFile(join(dir, 'data', 'missing.txt'), 'utf8'), 'created');
      assert.ok((await stat(join(dir, 'data', 'missing.txt'))).isFile());
      assert.deepEqual(await readdir(join(dir, 'data')), ['missing.txt']);
    });

    it('a dangling link into a missing directory fails with ENOENT and leaves nothing', async (t) => {
      const dir = await tempDir(t);
      await symlink('nowhere/missing.txt', join(dir, 'link'));
      await assert.rejects(write(join(dir, 'link'), 'x'), { code: 'ENOENT' });
      assert.deepEqual(await readdir(dir), ['link']);
    });

    it('a link loop fails with ELOOP and leaves nothing', async (t) => {
      const dir = await tempDir(t);
      await symlink('b', join(dir, 'a'));
      await symlink('a', join(dir, 'b'));
      await assert.rejects(write(join(dir, 'a'), 'x'), { code: 'ELOOP' });
      assert.deepEqual((await readdir(dir)).sort(), ['a', 'b']);
    });

    it('still replaces a regular file, and creates a missing one', async (t) => {
      const dir = await tempDir(t);
      await writeFile(join(dir, 'out'), 'old');
      await write(join(dir, 'out'), 'new');
      await write(join(dir, 'fresh'), 'fresh');
      assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'new');
      assert.equal(await readFile(join(dir, 'fresh'), 'utf8'), 'fresh');
      assert.deepEqual((await readdir(dir)).sort(), ['fresh', 'out']);
    });
  });
}

describe('non-atomic writes go through what is there, as fs.writeFile does', () => {
  it('a character device takes the bytes and stays a device', {
    skip: isRoot ? false : 'mknod needs root',
  }, async (t) => {
    const dir = await tempDir(t);
    const dev = join(dir, 'null');
    execFileSync('mknod', [dev, 'c', '1', '3']);
    await writeFileNoCache(dev, 'discarded');
    await pipeline(['discarded'], createNoCacheWriteStream(dev));
    assert.ok((await lstat(dev)).isCharacterDevice());
    assert.deepEqual(await readdir(dir), ['null']);
  });

  it('a symbolic link is written through', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'real'), 'old');
    await symlink('real', join(dir, 'link'));
    await writeFileNoCache(join(dir, 'link'), 'new');
    assert.ok((await lstat(join(dir, 'link'))).isSymbolicLink());
    assert.equal(await readFile(join(dir, 'real'), 'utf8'), 'new');
  });
});

describe('an atomic write keeps what a write in place keeps', () => {
  for (const [name, write] of writers) {
    it(`${name}: the replaced file's permission bits, owner and group stay`, async (t) => {
      const dir = await tempDir(t);
      for (const mode of [0o600, 0o755, 0o640]) {
        const file = join(dir, `m${mode.toString(8)}`);
        await writeFile(file, 'old');
        await chmod(file, mode);
        if (isRoot) await chown(file, 4321, 4322);
        await write(file, 'new');
        const after = await stat(file);
        assert.equal(await readFile(file, 'utf8'), 'new');
        assert.equal(after.mode & 0o7777, mode, `mode ${mode.toString(8)} kept`);
        if (isRoot) assert.deepEqual([after.uid, after.gid], [4321, 4322], 'owner kept');
      }
      assert.deepEqual((await readdir(dir)).sort(), ['m600', 'm640', 'm755']);
    });
  }

  it('an explicit mode applies to the replacement; a new file gets 0o666 less the umask', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'f');
    await writeFile(file, 'old');
    await chmod(file, 0o600);
    // The umask applies to both: compare with what fs.writeFile makes with the same mode.
    const ref644 = join(dir, 'ref644');
    await writeFile(ref644, 'r', { mode: 0o644 });
    await writeFileNoCache(file, 'new', { atomic: true, mode: 0o644 });
    assert.equal((await stat(file)).mode & 0o777, (await stat(ref644)).mode & 0o777);
    const ref = join(dir, 'ref');
    await writeFile(ref, 'r');
    const fresh = join(dir, 'fresh');
    await writeFileNoCache(fresh, 'x', { atomic: true });
    assert.equal((await stat(fresh)).mode & 0o777, (await stat(ref)).mode & 0o777);
  });
});
