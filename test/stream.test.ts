import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pump, readChunks } from '../src/index.js';
import { KiB, seededBytes, tempDir, tempFile } from './helpers.js';
import {
  assertNoLeases,
  failingReadable,
  newPool,
  split,
  stalledReadable,
} from './read-all-helpers.js';

/**
 * A slow destination that looks at each chunk only when it calls back (a later macrotask): if a
 * block were reused before the callback, the bytes it records would be wrong.
 */
class SlowSink extends Writable {
  readonly parts: Buffer[] = [];
  maxBuffered = 0;
  constructor(highWaterMark = 16 * KiB) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    setImmediate(() => {
      this.parts.push(Buffer.from(chunk));
      cb();
    });
  }
  get data(): Buffer {
    return Buffer.concat(this.parts);
  }
}

describe('pump', () => {
  const data = seededBytes(1024 * KiB + 123);

  it('copies a file to a file through the ring and returns the bytes copied', async (t) => {
    const pool = newPool();
    const from = await tempFile(t, data);
    const to = path.join(path.dirname(from), 'copy.bin');
    const n = await pump(from, createWriteStream(to), { pool });
    assert.equal(n, data.length);
    assert.ok((await readFile(to)).equals(data));
    assertNoLeases(pool);
  });

  it('reuses a block only after its write callback: a slow sink sees the right bytes', async (t) => {
    const pool = newPool();
    const from = await tempFile(t, data);
    const sink = new SlowSink();
    const before = pool.stats();
    const n = await pump(from, sink, { pool, blockSize: 16 * KiB, blocks: 3 });
    assert.equal(n, data.length);
    assert.ok(sink.data.equals(data));
    const after = pool.stats();
    // ~65 chunks went through 3 blocks: nothing is leased (or allocated) per chunk
    assert.ok(after.hits + after.misses - before.hits - before.misses <= 3);
    assert.ok(sink.maxBuffered <= 3 * 16 * KiB, `buffered ${sink.maxBuffered}`);
    assertNoLeases(pool);
  });

  it('copies a Readable, coalescing tiny chunks into blocks', async () => {
    const pool = newPool();
    const small = seededBytes(50_000);
    const sink = new SlowSink();
    const n = await pump(Readable.from(split(small, [1, 7, 300])), sink, {
      pool,
      blockSize: 4 * KiB,
    });
    assert.equal(n, small.length);
    assert.ok(sink.data.equals(small));
    assert.ok(
      sink.parts.length < split(small, [1, 7, 300]).length / 4,
      `${sink.parts.length} writes`,
    );
    assertNoLeases(pool);
  });

  it('copies an empty source and a FileHandle (left open, read from offset 0)', async (t) => {
    const pool = newPool();
    const empty = new SlowSink();
    assert.equal(await pump(Readable.from([]), empty, { pool }), 0);
    assert.equal(empty.writableFinished, true);
    const file = await tempFile(t, data);
    const handle = await open(file, 'r');
    try {
      await handle.read(Buffer.alloc(100), 0, 100, null);
      const sink = new SlowSink();
      assert.equal(await pump(handle, sink, { pool }), data.length);
      assert.ok(sink.data.equals(data));
      assert.equal((await handle.stat()).size, data.length, 'handle still open');
    } finally {
      await handle.close();
    }
    assertNoLeases(pool);
  });

  it('end: false leaves the destination open', async () => {
    const pool = newPool();
    const sink = new SlowSink();
    await pump(Readable.from([Buffer.from('abc')]), sink, { pool, end: false });
    assert.equal(sink.writableEnded, false);
    sink.end();
  });

  it('a source error destroys the destination and releases every block', async () => {
    const pool = newPool();
    const boom = new Error('source boom');
    const sink = new SlowSink();
    await assert.rejects(
      pump(failingReadable(split(data, [64 * KiB]).slice(0, 5), boom), sink, { pool }),
      boom,
    );
    assert.equal(sink.destroyed, true);
    assertNoLeases(pool);
  });

  it('a destination error destroys the source and releases every block', async (t) => {
    const pool = newPool();
    const boom = new Error('sink boom');
    let writes = 0;
    const sink = new Writable({
      write(_chunk, _enc, cb) {
        setImmediate(() => cb(++writes === 3 ? boom : null));
      },
    });
    const source = createReadStream(await tempFile(t, data));
    await assert.rejects(pump(source, sink, { pool, blockSize: 8 * KiB }), boom);
    assert.equal(source.destroyed, true);
    assertNoLeases(pool);
    const fileSink = new Writable({
      write(_chunk, _enc, cb) {
        cb(boom);
      },
    });
    await assert.rejects(pump(await tempFile(t, data, 'b.bin'), fileSink, { pool }), boom);
    assertNoLeases(pool);
  });

  it('abort before and during rejects with signal.reason and destroys both sides', async (t) => {
    const pool = newPool();
    const reason = new Error('stop');
    const source = Readable.from(split(data, [64 * KiB]));
    const sink = new SlowSink();
    await assert.rejects(pump(source, sink, { pool, signal: AbortSignal.abort(reason) }), reason);
    assert.equal(source.destroyed, true);
    assert.equal(sink.destroyed, true);
    assert.equal(pool.stats().hits + pool.stats().misses, 0);

    const controller = new AbortController();
    const stalled = stalledReadable(split(data, [64 * KiB]).slice(0, 3));
    const sink2 = new SlowSink();
    const during = pump(stalled, sink2, { pool, signal: controller.signal });
    stalled.once('stall', () => controller.abort(reason));
    await assert.rejects(during, reason);
    assert.equal(stalled.destroyed, true);
    assert.equal(sink2.destroyed, true);
    assertNoLeases(pool);

    const c3 = new AbortController();
    const sink3 = new SlowSink();
    let written = 0;
    sink3.on('drain', () => {
      written++;
      if (written === 2) c3.abort(reason);
    });
    await assert.rejects(
      pump(await tempFile(t, data), sink3, { pool, signal: c3.signal, blockSize: 16 * KiB }),
      reason,
    );
    assertNoLeases(pool);
  });

  it('rejects bad arguments naming them', async () => {
    const sink = new SlowSink();
    await assert.rejects(pump(42 as never, sink), /source must be/);
    await assert.rejects(pump(Readable.from([]), {} as never), /destination must be a Writable/);
    await assert.rejects(pump(Readable.from([]), sink, { blockSize: 0 }), /options.blockSize.*0/);
    await assert.rejects(pump(Readable.from([]), sink, { blocks: 1.5 }), /options.blocks.*1.5/);
    await assert.rejects(pump(Readable.from([]), sink, { pool: {} as never }), /options.pool/);
  });
});

describe('readChunks', () => {
  const data = seededBytes(300 * KiB + 5);

  it('iterates a file in borrowed chunks of one reused block', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, data);
    const parts: Buffer[] = [];
    let block: ArrayBufferLike | undefined;
    let offset = -1;
    for await (const chunk of readChunks(file, { pool, blockSize: 64 * KiB })) {
      block ??= chunk.buffer;
      if (offset === -1) offset = chunk.byteOffset;
      assert.equal(chunk.buffer, block, 'same memory every time');
      assert.equal(chunk.byteOffset, offset);
      assert.ok(chunk.length <= 64 * KiB);
      parts.push(Buffer.from(chunk));
      assert.equal(pool.stats().inUseBytes, pool.classFor(64 * KiB));
    }
    assert.equal(parts.length, 5);
    assert.ok(Buffer.concat(parts).equals(data));
    assertNoLeases(pool);
  });

  it('yields nothing for an empty file; reads a FileHandle from 0 and leaves it open', async (t) => {
    const pool = newPool();
    for await (const _ of readChunks(await tempFile(t, Buffer.alloc(0), 'empty'), { pool })) {
      assert.fail('no chunk expected');
    }
    const handle = await open(await tempFile(t, data), 'r');
    try {
      await handle.read(Buffer.alloc(10), 0, 10, null);
      let total = 0;
      for await (const chunk of readChunks(handle, { pool })) total += chunk.length;
      assert.equal(total, data.length);
      assert.equal((await handle.stat()).size, data.length);
    } finally {
      await handle.close();
    }
    assertNoLeases(pool);
  });

  it('breaking out of the loop releases the block', async (t) => {
    const pool = newPool();
    for await (const _ of readChunks(await tempFile(t, data), { pool })) break;
    assertNoLeases(pool);
  });

  it('abort before and during rejects with signal.reason and releases the block', async (t) => {
    const pool = newPool();
    const file = await tempFile(t, data);
    const reason = new Error('stop');
    await assert.rejects(async () => {
      for await (const _ of readChunks(file, { pool, signal: AbortSignal.abort(reason) }))
        assert.fail();
    }, reason);
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const _ of readChunks(file, { pool, signal: controller.signal })) {
        seen++;
        controller.abort(reason);
      }
    }, reason);
    assert.equal(seen, 1);
    assertNoLeases(pool);
  });

  it('rejects bad arguments at once, naming them', async (t) => {
    assert.throws(() => readChunks(7 as never), /source must be a path/);
    assert.throws(() => readChunks('x', { blockSize: -1 }), /options.blockSize.*-1/);
    assert.throws(() => readChunks('x', { signal: 1 as never }), /options.signal/);
    const missing = path.join(await tempDir(t), 'missing');
    await assert.rejects(
      async () => {
        for await (const _ of readChunks(missing)) assert.fail();
      },
      { code: 'ENOENT' },
    );
  });
});
