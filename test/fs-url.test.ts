// Every path-taking function of the root entry takes a `file:` URL as `fs` does, and refuses a URL
// of another scheme with a TypeError naming the argument.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  BufferPool,
  capabilities,
  createNoCacheWriteStream,
  dropCache,
  readChunks,
  readFileNoCache,
  readFilePooled,
  residency,
  sweepStale,
  writeFileNoCache,
} from '../src/index.js';
import { nativeAvailable } from '../src/linux/index.js';
import { tempDir } from './helpers.js';

const http = new URL('http://example.invalid/file.bin');

test('file: URLs are accepted by every path-taking function', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ name: 'url' });
  const file = join(dir, 'a.bin');
  const url = pathToFileURL(file);

  const w = await writeFileNoCache(url, Buffer.alloc(64 << 10, 1));
  assert.equal(w.bytesWritten, 64 << 10);
  assert.equal((await readFile(file)).length, 64 << 10);

  const stream = createNoCacheWriteStream(pathToFileURL(join(dir, 'b.bin')));
  assert.equal(stream.path, join(dir, 'b.bin'));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject).on('finish', resolve);
    stream.end(Buffer.from('streamed'));
  });
  assert.equal(await readFile(join(dir, 'b.bin'), 'utf8'), 'streamed');

  const lease = await readFileNoCache(url, { pool });
  assert.equal(lease.buffer.length, 64 << 10);
  lease.release();
  const pooled = await readFilePooled(url, { pool });
  assert.equal(pooled.buffer.length, 64 << 10);
  pooled.release();
  let seen = 0;
  for await (const chunk of readChunks(url, { pool })) seen += chunk.length;
  assert.equal(seen, 64 << 10);

  const dropped = await dropCache(url);
  assert.equal(dropped.dropped, nativeAvailable());
  if (nativeAvailable()) {
    const r = await residency(url);
    assert.equal(r.bytes, 64 << 10);
  }
  const swept = await sweepStale(pathToFileURL(dir));
  assert.equal(swept.dir, dir);
  const caps = await capabilities(pathToFileURL(dir));
  assert.equal(caps.filesystem.dir, dir);
  assert.equal(pool.stats().inUseBytes, 0);
  pool.close();
});

test('a URL of another scheme is a TypeError naming the argument, before any IO', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ name: 'url-bad' });
  const calls: [string, () => unknown, RegExp][] = [
    ['writeFileNoCache', () => writeFileNoCache(http, Buffer.alloc(1)), /^path .*http: URL/],
    ['createNoCacheWriteStream', () => createNoCacheWriteStream(http), /^path .*http: URL/],
    ['readFileNoCache', () => readFileNoCache(http, { pool }), /^path .*http: URL/],
    ['dropCache', () => dropCache(http), /^pathOrFd .*http: URL/],
    ['residency', () => residency(http), /^pathOrFd .*http: URL/],
    ['sweepStale', () => sweepStale(http), /^dir .*http: URL/],
    ['capabilities', () => capabilities(http), /^dir .*http: URL/],
    // readAll's file readers hand the URL to fs, whose TypeError says the same.
    ['readFilePooled', () => readFilePooled(http, { pool }), /scheme file/],
    ['readChunks', () => readChunks(http, { pool }).next(), /scheme file/],
  ];
  for (const [name, call, message] of calls) {
    await assert.rejects(
      async () => call(),
      (err: Error) => err instanceof TypeError && message.test(err.message),
      name,
    );
  }
  // A file: URL with a host names a file on another machine: fs refuses it, so do we.
  await assert.rejects(
    writeFileNoCache(new URL('file://host.invalid/x'), Buffer.alloc(1)),
    TypeError,
  );
  assert.deepEqual(await readdir(dir), []);
  assert.equal(pool.stats().inUseBytes, 0);
  pool.close();
});

test('an empty path and a non-path are TypeErrors that still name the argument', async () => {
  await assert.rejects(writeFileNoCache('', Buffer.alloc(1)), /path must be a non-empty string/);
  await assert.rejects(
    dropCache({} as unknown as string),
    /pathOrFd must be a non-empty string or a file: URL, got an object/,
  );
  await assert.rejects(dropCache(-1), RangeError);
});
