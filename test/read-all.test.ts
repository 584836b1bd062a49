import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  BadInputError,
  BufferPool,
  ChunkList,
  DoubleReleaseError,
  LengthMismatchError,
  LimitExceededError,
  readAll,
  readAllChunks,
  readFilePooled,
  UseAfterReleaseError,
} from '../src/index.js';
import { KiB, MiB, seededBytes, tempFile, tick, within } from './helpers.js';
import {
  assertNoLeases,
  failingReadable,
  newPool,
  split,
  stalledReadable,
} from './read-all-helpers.js';

async function* generate(
  chunks: readonly (Uint8Array | string)[],
): AsyncGenerator<Uint8Array | string> {
  for (const chunk of chunks) yield chunk;
}

function webStream(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

describe('readAll sources', () => {
  const data = seededBytes(300 * KiB);
  const chunks = split(data, [64 * KiB]);
  const kinds: Array<[string, () => Parameters<typeof readAll>[0]]> = [
    ['Readable', () => Readable.from(chunks)],
    ['async generator', () => generate(chunks)],
    ['web ReadableStream', () => webStream(chunks)],
  ];
  for (const [name, make] of kinds) {
    it(`reads a ${name} into one exact lease`, async () => {
      const pool = newPool();
      const lease = await readAll(make(), { pool });
      assert.ok(lease.buffer.equals(data));
      assert.equal(lease.capacity, pool.classFor(data.length));
      lease.release();
      assertNoLeases(pool);
    });
    it(`reads an empty ${name}`, async () => {
      const pool = newPool();
      const empty =
        name === 'Readable'
          ? Readable.from([])
          : name === 'web ReadableStream'
            ? webStream([])
            : generate([]);
      const lease = await readAll(empty, { pool });
      assert.equal(lease.buffer.length, 0);
      lease.release();
      assertNoLeases(pool);
    });
  }

  it('reads a Readable that was paused before it was handed over', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, data);
    const unpiped = (): Readable => {
      const stream = createReadStream(file);
      const sink = new PassThrough();
      stream.pipe(sink);
      stream.unpipe(sink);
      return stream;
    };
    const kinds: Array<[string, () => Readable]> = [
      ['paused fs.ReadStream', () => createReadStream(file).pause()],
      ['paused Readable.from', () => Readable.from(chunks).pause()],
      ['unpiped fs.ReadStream', unpiped],
    ];
    for (const [name, make] of kinds) {
      const stream = make();
      assert.equal(stream.readableFlowing, false, name);
      // A 'data' listener alone does not start a stream whose readableFlowing is false: without a
      // resume the read never settles, so the signal turns that hang into a failure.
      using lease = await readAll(stream, { pool, signal: AbortSignal.timeout(10_000) });
      assert.ok(lease.buffer.equals(data), name);
    }
    assertNoLeases(pool);
  });

  it('loses nothing from a stream already flowing while the first block is leased', async () => {
    const pool = new BufferPool({
      sizeClasses: [64 * KiB, MiB],
      maxBytes: MiB,
      onExhausted: 'wait',
    });
    const held = pool.acquire(MiB); // the declared-length block has to wait for this
    const body = seededBytes(200 * KiB);
    const source = new PassThrough();
    source.on('data', () => {}); // someone else set it flowing
    const reading = readAll(source, { pool, lengthHint: body.length });
    source.end(body);
    await tick();
    held.release();
    const lease = await reading;
    assert.ok(lease.buffer.equals(body));
    lease.release();
    assertNoLeases(pool);
    pool.close();
  });

  it('refuses a content-length no lease can hold: 413-style limit first, else bad input', async () => {
    const pool = newPool();
    const request = (): IncomingMessage => {
      const message = new IncomingMessage(new Socket());
      message.headers = { 'content-length': '99999999999999999999' };
      message.push('abc');
      message.push(null);
      return message;
    };
    await assert.rejects(readAll(request(), { pool, maxBytes: 1024 }), LimitExceededError);
    await assert.rejects(readAll(request(), { pool }), (err: unknown) => {
      assert.ok(err instanceof BadInputError);
      assert.equal(err.code, 'ERR_SLABIO_BAD_INPUT');
      return true;
    });
    assertNoLeases(pool);
  });

  it("refuses a stream with a 'readable' listener (it would never flow) and leaves it alone", async () => {
    const pool = newPool();
    const stream = Readable.from(chunks);
    const onReadable = (): void => {};
    stream.on('readable', onReadable);
    await assert.rejects(readAll(stream, { pool }), (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /'readable' listener/);
      return true;
    });
    assert.equal(stream.destroyed, false);
    stream.off('readable', onReadable);
    const lease = await readAll(stream, { pool });
    assert.ok(lease.buffer.equals(data));
    lease.release();
    assertNoLeases(pool);
  });

  it('reads a path, a file URL and a FileHandle (from offset 0, left open)', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, data);
    for (const source of [file, pathToFileURL(file)]) {
      using lease = await readAll(source, { pool });
      assert.ok(lease.buffer.equals(data));
      // fstat gave the length: one block of exactly that size, no copy
      assert.equal(lease.capacity, pool.classFor(data.length));
    }
    const handle = await open(file, 'r');
    try {
      await handle.read(Buffer.alloc(10), 0, 10, null); // move the handle's own position
      using lease = await readFilePooled(handle, { pool });
      assert.ok(lease.buffer.equals(data));
      const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, 0);
      assert.equal(bytesRead, 1, 'the handle is still open');
    } finally {
      await handle.close();
    }
    assertNoLeases(pool);
  });

  it('reads an empty file and a file whose size fstat does not know', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, Buffer.alloc(0));
    using empty = await readFilePooled(file, { pool });
    assert.equal(empty.buffer.length, 0);
    if (process.platform === 'linux') {
      // /proc files report size 0: read class by class until EOF
      using status = await readFilePooled('/proc/self/status', { pool });
      assert.match(status.buffer.toString(), /^Name:/);
    }
  });

  it('rejects a missing file with the fs error and leaks nothing', async () => {
    const pool = newPool();
    await assert.rejects(readFilePooled('does-not-exist.bin', { pool }), { code: 'ENOENT' });
    assertNoLeases(pool);
  });

  it('encodes string chunks as UTF-8, also multi-byte characters', async () => {
    const pool = newPool();
    const text = 'héllo wörld — 日本語 🌍'.repeat(500);
    // Split by code points (a UTF-16 slice could cut a surrogate pair, which is not valid text).
    const points = Array.from(text);
    const pieces: string[] = [];
    for (let i = 0; i < points.length; i += 7) pieces.push(points.slice(i, i + 7).join(''));
    using fromIterable = await readAll(generate(pieces), { pool });
    assert.ok(fromIterable.buffer.equals(Buffer.from(text, 'utf8')));
    const stream = Readable.from([Buffer.from(text)]);
    stream.setEncoding('utf8');
    using fromStream = await readAll(stream, { pool });
    assert.ok(fromStream.buffer.equals(Buffer.from(text, 'utf8')));
  });

  it('rejects an object-mode stream of non-bytes with TypeError and destroys it', async () => {
    const pool = newPool();
    const stream = Readable.from([Buffer.from('ok'), { not: 'bytes' }]);
    await assert.rejects(readAll(stream, { pool }), TypeError);
    assert.equal(stream.destroyed, true);
    assertNoLeases(pool);
  });

  it('rejects a non-source and bad options naming them', async () => {
    const pool = newPool();
    await assert.rejects(readAll(42 as never, { pool }), /source must be .* got number/);
    await assert.rejects(readAll(Buffer.from('x') as never, { pool }), TypeError);
    await assert.rejects(readAll(generate([]), { maxBytes: -1 }), /options.maxBytes.*-1/);
    await assert.rejects(readAll(generate([]), { maxBytes: '1' as never }), TypeError);
    await assert.rejects(readAll(generate([]), { lengthHint: 1.5 }), /options.lengthHint.*1.5/);
    await assert.rejects(readAll(generate([]), { pool: {} as never }), /options.pool/);
    await assert.rejects(readAll(generate([]), { signal: 'x' as never }), /options.signal/);
    await assert.rejects(readFilePooled(7 as never), /path must be/);
  });
});

describe('readAll growth', () => {
  it('takes one-byte chunks', async () => {
    const pool = newPool();
    const data = seededBytes(20_000);
    using lease = await readAll(Readable.from(split(data, [1])), { pool });
    assert.ok(lease.buffer.equals(data));
  });

  it('splits chunks larger than the largest class across blocks', async () => {
    const pool = newPool({ sizeClasses: [4 * KiB, 8 * KiB, 16 * KiB], maxBytes: 4 * MiB });
    const data = seededBytes(100 * KiB + 3);
    using list = await readAllChunks(generate(split(data, [50 * KiB])), { pool });
    assert.ok(list.chunks.length > 1);
    for (const chunk of list.chunks) assert.ok(chunk.length <= 16 * KiB);
    assert.ok(Buffer.concat(list.chunks).equals(data));
    using lease = await readAll(generate(split(data, [50 * KiB])), { pool });
    assert.ok(lease.buffer.equals(data)); // oversize result: one unpooled buffer
  });

  it('holds at most 1.25 × bytes read plus one block while reading, and never doubles', async () => {
    const pool = newPool();
    const data = seededBytes(6 * MiB);
    let firstBlock = 0;
    let worst = 0;
    let delivered = 0;
    async function* watched(): AsyncGenerator<Buffer> {
      for (const chunk of split(data, [4 * KiB, 60 * KiB, 333])) {
        const held = pool.stats().inUseBytes;
        if (firstBlock === 0) firstBlock = held;
        if (delivered > 0) worst = Math.max(worst, held / (1.25 * delivered + firstBlock));
        yield chunk;
        delivered += chunk.length;
      }
    }
    using list = await readAllChunks(watched(), { pool });
    assert.ok(worst > 0 && worst <= 1, `held/(1.25 × read + first block) peaked at ${worst}`);
    assert.ok(Buffer.concat(list.chunks).equals(data));
    // every block but the last is full: nothing was copied into a bigger buffer
    for (const chunk of list.chunks.slice(0, -1))
      assert.ok(pool.sizeClasses.includes(chunk.length));
    const largest = Math.max(...list.chunks.map((c) => c.length));
    assert.ok(largest <= 0.25 * data.length + firstBlock, 'no block over a quarter of the body');
  });

  it('with a known length leases one block of the right class and copies nothing more', async () => {
    const pool = newPool();
    const data = seededBytes(1 * MiB + 17);
    const before = pool.stats();
    using list = await readAllChunks(Readable.from(split(data, [64 * KiB])), {
      pool,
      lengthHint: data.length,
    });
    assert.equal(list.chunks.length, 1);
    const after = pool.stats();
    assert.equal(after.hits + after.misses - before.hits - before.misses, 1, 'one acquire');
    assert.equal(after.inUseBytes, pool.classFor(data.length));
    assert.ok(list.chunks[0]?.equals(data));
  });

  it('allocates nothing in steady state: repeated reads reuse the same slabs', async () => {
    const pool = newPool();
    const data = seededBytes(512 * KiB);
    const chunks = split(data, [64 * KiB]);
    for (let i = 0; i < 3; i++) (await readAll(Readable.from(chunks), { pool })).release();
    const warm = pool.stats();
    for (let i = 0; i < 20; i++) (await readAll(Readable.from(chunks), { pool })).release();
    const after = pool.stats();
    assert.equal(after.misses, warm.misses, 'no new slab');
    assert.equal(after.reservedBytes, warm.reservedBytes);
    assert.equal(after.oversize, warm.oversize);
  });
});

describe('readAll limits', () => {
  const data = seededBytes(100 * KiB);
  const chunks = split(data, [10 * KiB + 1]);

  it('exactly maxBytes succeeds, one more fails with ERR_SLABIO_LIMIT', async () => {
    const pool = newPool();
    using ok = await readAll(Readable.from(chunks), { pool, maxBytes: data.length });
    assert.equal(ok.buffer.length, data.length);
    const stream = Readable.from(chunks);
    await assert.rejects(readAll(stream, { pool, maxBytes: data.length - 1 }), (err: unknown) => {
      assert.ok(err instanceof LimitExceededError);
      assert.equal(err.code, 'ERR_SLABIO_LIMIT');
      assert.equal(err.limit, data.length - 1);
      assert.equal(err.bytesRead, data.length);
      return true;
    });
    assert.equal(stream.destroyed, true);
    ok.release();
    assertNoLeases(pool);
  });

  it('stops at the chunk that crosses the limit and destroys the source', async () => {
    const pool = newPool();
    let pulled = 0;
    let finalized = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1000);
        }
      } finally {
        finalized = true;
      }
    }
    await assert.rejects(readAll(endless(), { pool, maxBytes: 10_500 }), {
      code: 'ERR_SLABIO_LIMIT',
      bytesRead: 11_000,
    });
    await tick();
    assert.equal(pulled, 11);
    assert.equal(finalized, true);
    assertNoLeases(pool);
  });

  it('rejects a declared length over the limit before reading anything', async () => {
    const pool = newPool();
    let pulled = false;
    let finalized = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        pulled = true;
        yield Buffer.alloc(10);
      } finally {
        finalized = true;
      }
    }
    const gen = source();
    await assert.rejects(readAll(gen, { pool, maxBytes: 100, lengthHint: 101 }), {
      code: 'ERR_SLABIO_LIMIT',
      limit: 100,
      bytesRead: 101,
    });
    await tick();
    assert.equal(pulled, false);
    assert.deepEqual(await gen.next(), { done: true, value: undefined }, 'generator was closed');
    assert.equal(finalized, false, 'never started, so its finally never ran');
    const stream = Readable.from(chunks);
    await assert.rejects(
      readAll(stream, { pool, maxBytes: 100, lengthHint: 101 }),
      LimitExceededError,
    );
    assert.equal(stream.destroyed, true);
    assert.equal(pool.stats().hits + pool.stats().misses, 0, 'nothing was leased');
  });

  it('rejects a file over the limit from its fstat size, before reading', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, data);
    await assert.rejects(readFilePooled(file, { pool, maxBytes: data.length - 1 }), {
      code: 'ERR_SLABIO_LIMIT',
      bytesRead: data.length,
    });
    assert.equal(pool.stats().hits + pool.stats().misses, 0);
    using ok = await readFilePooled(file, { pool, maxBytes: data.length });
    assert.ok(ok.buffer.equals(data));
  });

  it('enforces the limit on a file of unknown size', {
    skip: process.platform !== 'linux',
  }, async () => {
    const pool = newPool();
    await assert.rejects(readFilePooled('/proc/self/maps', { pool, maxBytes: 10 }), {
      code: 'ERR_SLABIO_LIMIT',
      bytesRead: 11,
    });
    assertNoLeases(pool);
  });
});

describe('readAll declared length', () => {
  const data = seededBytes(40 * KiB);
  const cases: Array<[string, number]> = [
    ['short', data.length + 1],
    ['long', data.length - 1],
  ];
  for (const [what, declared] of cases) {
    it(`rejects a ${what} body with ERR_SLABIO_LENGTH_MISMATCH`, async () => {
      const pool = newPool();
      for (const make of [
        () => Readable.from(split(data, [4096])),
        () => generate(split(data, [4096])),
      ]) {
        await assert.rejects(readAll(make(), { pool, lengthHint: declared }), (err: unknown) => {
          assert.ok(err instanceof LengthMismatchError);
          assert.equal(err.code, 'ERR_SLABIO_LENGTH_MISMATCH');
          assert.equal(err.expected, declared);
          assert.equal(err.actual, what === 'short' ? data.length : declared + 1);
          return true;
        });
        assertNoLeases(pool);
      }
    });

    it(`rejects a file ${what}er than its lengthHint`, async (t) => {
      const pool = newPool();
      const file = await tempFile(t, data);
      await assert.rejects(
        readFilePooled(file, { pool, lengthHint: declared }),
        LengthMismatchError,
      );
      assertNoLeases(pool);
    });
  }

  it('declared 0 with an empty source succeeds; with a byte it fails', async () => {
    const pool = newPool();
    using empty = await readAll(generate([]), { pool, lengthHint: 0 });
    assert.equal(empty.buffer.length, 0);
    await assert.rejects(readAll(generate([Buffer.from('x')]), { pool, lengthHint: 0 }), {
      code: 'ERR_SLABIO_LENGTH_MISMATCH',
      actual: 1,
    });
  });
});

describe('readAll failures', () => {
  const data = seededBytes(200 * KiB);
  const chunks = split(data, [16 * KiB]);

  it('passes a mid-stream error through and releases every block', async () => {
    const pool = newPool();
    const boom = new Error('boom');
    for (const lengthHint of [undefined, data.length]) {
      const options = lengthHint === undefined ? { pool } : { pool, lengthHint };
      await assert.rejects(readAll(failingReadable(chunks.slice(0, 5), boom), options), boom);
      await assert.rejects(
        readAll(
          (async function* () {
            yield* chunks.slice(0, 5);
            throw boom;
          })(),
          options,
        ),
        boom,
      );
      const web = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks.slice(0, 5)) controller.enqueue(c);
          controller.error(boom);
        },
      });
      await assert.rejects(readAll(web, options), boom);
      assertNoLeases(pool);
    }
  });

  it('rejects with a premature close', async () => {
    const pool = newPool();
    const stream = stalledReadable(chunks.slice(0, 3));
    const read = readAll(stream, { pool });
    stream.once('stall', () => stream.destroy());
    await assert.rejects(read, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    assertNoLeases(pool);
  });

  it('abort before reading rejects with signal.reason and destroys the source', async (t) => {
    const pool = newPool();
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    const stream = Readable.from(chunks);
    await assert.rejects(readAll(stream, { pool, signal }), reason);
    assert.equal(stream.destroyed, true);
    let started = false;
    await assert.rejects(
      readAll(
        (async function* () {
          started = true;
          yield Buffer.alloc(1);
        })(),
        { pool, signal },
      ),
      reason,
    );
    assert.equal(started, false);
    const web = webStream(chunks);
    await assert.rejects(readAll(web, { pool, signal }), reason);
    assert.equal(web.locked, false);
    await assert.rejects(readFilePooled(await tempFile(t, data), { pool, signal }), reason);
    assert.equal(pool.stats().hits + pool.stats().misses, 0);
  });

  it('abort during reading rejects at once, destroys the source, releases blocks', async () => {
    const pool = newPool();
    for (const lengthHint of [undefined, data.length]) {
      const controller = new AbortController();
      const stream = stalledReadable(chunks.slice(0, 4));
      stream.once('stall', () => controller.abort());
      const options = {
        pool,
        signal: controller.signal,
        ...(lengthHint === undefined ? {} : { lengthHint }),
      };
      await assert.rejects(readAll(stream, options), { name: 'AbortError' });
      assert.equal(stream.destroyed, true);
      assertNoLeases(pool);

      const c2 = new AbortController();
      let finalized = false;
      let onFinalized = (): void => {};
      const whenFinalized = new Promise<void>((resolve) => {
        onFinalized = resolve;
      });
      async function* slow(): AsyncGenerator<Buffer> {
        try {
          yield Buffer.alloc(100);
          c2.abort();
          await new Promise((resolve) => setTimeout(resolve, 20)); // a source slower than the abort
          yield Buffer.alloc(100);
        } finally {
          finalized = true;
          onFinalized();
        }
      }
      await assert.rejects(readAll(slow(), { pool, signal: c2.signal }), { name: 'AbortError' });
      await within(whenFinalized, 5000); // readAll's return() waits for the pending step
      assert.equal(finalized, true);
      assertNoLeases(pool);
    }
  });

  it('abort while waiting for pool memory rejects and leaves the pool clean', async () => {
    const pool = newPool({ sizeClasses: [64 * KiB], maxBytes: 64 * KiB, onExhausted: 'wait' });
    const hog = pool.acquire(64 * KiB);
    const controller = new AbortController();
    const read = readAll(Readable.from([Buffer.alloc(10)]), { pool, signal: controller.signal });
    await tick();
    assert.equal(pool.stats().waiting, 1);
    controller.abort();
    await assert.rejects(read, { name: 'AbortError' });
    assert.equal(pool.stats().waiting, 0);
    hog.release();
    assertNoLeases(pool);
  });
});

describe('ChunkList', () => {
  it('releases once, refuses use after release, disposes twice', async () => {
    const pool = newPool();
    const list = await readAllChunks(generate([Buffer.from('abc'), Buffer.from('def')]), { pool });
    assert.ok(list instanceof ChunkList);
    assert.equal(list.length, 6);
    assert.equal(Buffer.concat(list.chunks).toString(), 'abcdef');
    list.release();
    assert.equal(list.released, true);
    assert.throws(() => list.chunks, UseAfterReleaseError);
    assert.throws(() => list.release(), DoubleReleaseError);
    list[Symbol.dispose]();
    assertNoLeases(pool);
    using empty = await readAllChunks(generate([]), { pool });
    assert.deepEqual(empty.chunks, []);
  });
});
