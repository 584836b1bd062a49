/**
 * Every entry point that reads a caller's input (readAll, readFilePooled, pump, readChunks, the
 * decompression helpers, extractZip) recognises it the same way, reads every web stream kind Node
 * hands out, and lets go of a source the same way when it gives up.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { gunzip, pump, readAll, readChunks, readFilePooled } from 'slabio';
import { extractZip } from 'slabio/zip';
import { compressSync } from './decompress-helpers.js';
import { KiB, seededBytes, tempDir, tick, within } from './helpers.js';
import { assertNoLeases, newPool, split } from './read-all-helpers.js';
import { yazlZip } from './zip-helpers.js';

/** The web stream kinds a caller may have: a plain one, a byte stream, a fetch body, `from()`. */
function webKinds(data: Buffer): Array<[string, () => ReadableStream<Uint8Array>]> {
  const chunks = split(data, [7 * KiB, 64 * KiB, 1]);
  return [
    [
      'ReadableStream',
      () => {
        let i = 0;
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            const chunk = chunks[i++];
            if (chunk === undefined) controller.close();
            else controller.enqueue(chunk);
          },
        });
      },
    ],
    [
      "byte stream (type: 'bytes')",
      () => {
        let i = 0;
        return new ReadableStream({
          type: 'bytes',
          pull(controller) {
            const chunk = chunks[i++];
            if (chunk === undefined) controller.close();
            else controller.enqueue(new Uint8Array(chunk));
          },
        });
      },
    ],
    ['Response body', () => new Response(data).body as ReadableStream<Uint8Array>],
    [
      'ReadableStream.from(generator)',
      () =>
        ReadableStream.from(
          (async function* () {
            yield* chunks;
          })(),
        ) as ReadableStream<Uint8Array>,
    ],
  ];
}

/** A web stream (of `type`) whose first read never completes, recording its cancel reason. */
function stalledWeb(type: 'default' | 'bytes'): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => { reason: unknown } | null;
} {
  let cancelled: { reason: unknown } | null = null;
  const source = {
    pull: () => new Promise<void>(() => {}),
    cancel(reason: unknown) {
      cancelled = { reason };
    },
  };
  const stream =
    type === 'bytes'
      ? new ReadableStream({ type: 'bytes', ...source })
      : new ReadableStream<Uint8Array>(source);
  return { stream: stream as ReadableStream<Uint8Array>, cancelled: () => cancelled };
}

describe('sources: every web stream kind', () => {
  const data = seededBytes(200 * KiB);
  for (const [name, make] of webKinds(data)) {
    it(`readAll reads a ${name} and releases its lock`, async () => {
      const pool = newPool();
      const stream = make();
      using lease = await readAll(stream, { pool });
      assert.ok(lease.buffer.equals(data));
      assert.equal(stream.locked, false);
    });
  }

  const gz = compressSync('gzip', data);
  for (const [name, make] of webKinds(gz)) {
    it(`gunzip reads a ${name}`, async () => {
      const pool = newPool();
      using lease = await gunzip(make(), { pool });
      assert.ok(lease.buffer.equals(data));
    });
  }

  it('extractZip spools every kind', async (t) => {
    const parent = await tempDir(t);
    const zip = await yazlZip({ 'a.bin': data });
    for (const [name, make] of webKinds(zip)) {
      const dest = path.join(parent, name.replace(/\W+/g, '-'));
      const result = await extractZip(make(), dest, { pool: newPool() });
      assert.equal(result.entries, 1, name);
    }
  });
});

describe('sources: a web stream that errors between reads', () => {
  it('readAll rejects with its error, also when it errored while a block was being leased', async () => {
    const pool = newPool({ sizeClasses: [16 * KiB], maxBytes: 32 * KiB, onExhausted: 'wait' });
    const hog = pool.acquire(16 * KiB);
    const boom = new Error('upstream reset');
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        c.enqueue(Buffer.alloc(16 * KiB, 1));
        c.enqueue(Buffer.alloc(16 * KiB, 2));
      },
    });
    const read = readAll(stream, { pool });
    // The second chunk needs a second block, which waits for the hog.
    for (let i = 0; i < 100 && pool.stats().waiting === 0; i++) await tick();
    assert.equal(pool.stats().waiting, 1);
    controller?.error(boom);
    await tick();
    hog.release();
    await assert.rejects(read, (err) => err === boom);
    assert.equal(stream.locked, false);
    assertNoLeases(pool);
  });
});

describe('sources: an abort cancels a web stream whose read is pending', () => {
  for (const type of ['default', 'bytes'] as const) {
    it(`readAll, gunzip and extractZip cancel a stalled ${type} stream with the reason`, async (t) => {
      const parent = await tempDir(t);
      const pool = newPool();
      const entries: Array<
        [string, (s: ReadableStream<Uint8Array>, signal: AbortSignal) => Promise<unknown>]
      > = [
        ['readAll', (s, signal) => readAll(s, { pool, signal })],
        ['gunzip', (s, signal) => gunzip(s, { pool, signal })],
        ['extractZip', (s, signal) => extractZip(s, path.join(parent, 'o'), { pool, signal })],
      ];
      for (const [name, entry] of entries) {
        const { stream, cancelled } = stalledWeb(type);
        const controller = new AbortController();
        const reason = new Error(`${name}: client went away`);
        const read = entry(stream, controller.signal);
        setTimeout(() => controller.abort(reason), 10);
        const outcome = await within(read, 2000);
        assert.notEqual(outcome, 'pending', `${name}: settles on abort`);
        assert.deepEqual(outcome, { error: reason }, `${name}: rejects with the reason`);
        assert.deepEqual(cancelled(), { reason }, `${name}: the stream is cancelled with it`);
        assert.equal(stream.locked, false, `${name}: the lock is released`);
      }
      assertNoLeases(pool);
      assert.deepEqual(await readdir(parent), [], 'no spool file is left');
    });
  }
});

describe("sources: a Readable with a 'readable' listener", () => {
  it('readAll, pump and gunzip refuse it with a TypeError instead of waiting forever', async () => {
    const pool = newPool();
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    const entries: Array<[string, (s: Readable) => Promise<unknown>]> = [
      ['readAll', (s) => readAll(s, { pool })],
      ['pump', (s) => pump(s, sink, { pool })],
      ['gunzip', (s) => gunzip(s, { pool })],
    ];
    for (const [name, entry] of entries) {
      const stream = Readable.from([compressSync('gzip', Buffer.from('hello'))]);
      stream.on('readable', () => {});
      const outcome = await within(entry(stream), 2000);
      stream.destroy(); // a read that hung would otherwise hold the stream
      assert.notEqual(outcome, 'pending', `${name}: settles`);
      const error = (outcome as { error?: unknown }).error;
      assert.ok(error instanceof TypeError, `${name}: a TypeError`);
      assert.match(error.message, /'readable' listener/, name);
    }
    assertNoLeases(pool);
  });
});

describe('sources: what is not a source', () => {
  it('every entry point names the argument, the kinds it takes and what it got', async () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        'readAll',
        () => readAll(42 as never),
        /^source must be .* or a ReadableStream, got number$/,
      ],
      [
        'readFilePooled',
        () => readFilePooled(Buffer.from('x') as never),
        /^path must be .*, got Buffer$/,
      ],
      ['pump', () => pump({} as never, sink), /^source must be .* or a Readable, got Object$/],
      ['readChunks', async () => readChunks(null as never), /^source must be a path .*, got null$/],
      ['gunzip', () => gunzip(42 as never), /^input must be a Buffer, .*, got number$/],
      [
        'extractZip',
        () => extractZip(42 as never, 'x'),
        /^source must be a Buffer, .*, got number$/,
      ],
    ];
    for (const [name, call, message] of cases) {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof TypeError, name);
        assert.match(err.message, message, name);
        return true;
      });
    }
  });
});
