import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BadInputError,
  BufferPool,
  brotliDecompress,
  type CompressionFormat,
  createDecompressStream,
  decompress,
  gunzip,
  inflate,
  type Lease,
  LimitExceededError,
} from 'slabio';
import { compressSync, text, zeroBomb } from './decompress-helpers.js';
import { GiB, KiB, MiB, noise, tempDir } from './helpers.js';

const FORMATS: CompressionFormat[] = ['gzip', 'deflate', 'deflate-raw', 'brotli'];

function newPool(): BufferPool {
  return new BufferPool({ maxBytes: 256 * MiB, idleTrimMs: 0 });
}

/** Copy out and release, asserting the pool has nothing left in use. */
function take(lease: Lease, pool: BufferPool): Buffer {
  const copy = Buffer.from(lease.buffer);
  lease.release();
  assert.equal(pool.stats().inUseBytes, 0);
  return copy;
}

function isLimit(limit: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof LimitExceededError, `expected LimitExceededError, got ${err}`);
    assert.equal(err.code, 'ERR_SLABIO_LIMIT');
    assert.equal(err.limit, limit);
    assert.ok(err.bytesRead > limit);
    return true;
  };
}

function isBadInput(err: unknown): boolean {
  assert.ok(err instanceof BadInputError, `expected BadInputError, got ${err}`);
  assert.equal(err.code, 'ERR_SLABIO_BAD_INPUT');
  assert.ok(err.cause instanceof Error);
  return true;
}

async function* slowly(chunks: Buffer[], delayMs = 5): AsyncGenerator<Buffer> {
  for (const c of chunks) {
    await new Promise((r) => setTimeout(r, delayMs));
    yield c;
  }
}

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

describe('decompress: every format and input kind gives back the bytes', () => {
  const data = text(3 * MiB + 123);
  for (const format of FORMATS) {
    it(format, async (t) => {
      const pool = newPool();
      const compressed = compressSync(format, data);
      const dir = await tempDir(t);
      const file = path.join(dir, 'input');
      await writeFile(file, compressed);
      const inputPool = newPool();
      const input = inputPool.acquire(compressed.length);
      compressed.copy(input.buffer);
      const inputs: [string, () => unknown][] = [
        ['Buffer', () => compressed],
        ['Uint8Array', () => new Uint8Array(compressed)],
        ['Lease', () => input],
        ['Readable', () => Readable.from(chunked(compressed, 1000))],
        ['async iterable', () => slowly(chunked(compressed, 64 * KiB), 0)],
        ['web ReadableStream', () => Readable.toWeb(Readable.from(chunked(compressed, 7000)))],
        ['path', () => file],
        ['URL', () => new URL(`file://${file}`)],
      ];
      for (const [kind, make] of inputs) {
        const lease = await decompress(make() as Buffer, { format, pool });
        assert.ok(take(lease, pool).equals(data), `${format} from ${kind}`);
      }
      // A lease given as input is only read.
      assert.equal(input.released, false);
      input.release();
    });
  }

  it('gunzip, inflate and brotliDecompress are the formats of their names', async () => {
    const pool = newPool();
    const small = noise(10 * KiB);
    assert.ok(take(await gunzip(compressSync('gzip', small), { pool }), pool).equals(small));
    assert.ok(take(await inflate(compressSync('deflate', small), { pool }), pool).equals(small));
    const br = await brotliDecompress(compressSync('brotli', small), { pool });
    assert.ok(take(br, pool).equals(small));
    await assert.rejects(inflate(compressSync('gzip', small), { pool }), isBadInput);
  });

  it('empty output and concatenated gzip members', async () => {
    const pool = newPool();
    assert.equal(
      take(await gunzip(compressSync('gzip', Buffer.alloc(0)), { pool }), pool).length,
      0,
    );
    const a = noise(1000, 1);
    const b = noise(2000, 2);
    const both = Buffer.concat([compressSync('gzip', a), compressSync('gzip', b)]);
    assert.ok(take(await gunzip(both, { pool }), pool).equals(Buffer.concat([a, b])));
  });
});

describe('decompress: limits', () => {
  for (const format of FORMATS) {
    it(`${format}: the ratio of a whole input of bytes or a file is its own, not its first megabytes'`, async (t) => {
      const pool = newPool();
      // 2 MiB of zeros, then 1 MiB that does not compress: about 3:1 overall, far above 100:1
      // over the first megabytes.
      const data = Buffer.concat([Buffer.alloc(2 * MiB), noise(MiB)]);
      const packed = compressSync(format, data);
      const file = path.join(await tempDir(t), 'in.z');
      await writeFile(file, packed);
      for (const input of [packed, file]) {
        assert.equal(take(await decompress(input, { format, pool }), pool).length, data.length);
      }
      // A whole input exactly at maxRatio passes; one just below the ratio is refused.
      const bomb = compressSync(format, Buffer.alloc(8 * MiB));
      const ratio = (8 * MiB) / bomb.length;
      const lease = await decompress(bomb, { format, pool, maxRatio: ratio });
      assert.equal(take(lease, pool).length, 8 * MiB);
      await assert.rejects(
        decompress(bomb, { format, pool, maxRatio: ratio * 0.99 }),
        LimitExceededError,
      );
      // A stream's size is not known: its ratio is counted against what was read so far.
      await assert.rejects(
        decompress(Readable.from(chunked(packed, 1024)), { format, pool }),
        LimitExceededError,
      );
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }

  for (const format of FORMATS) {
    it(`${format}: exactly maxOutputBytes succeeds, one byte more is ERR_SLABIO_LIMIT`, async () => {
      const pool = newPool();
      const limit = 200 * KiB + 17;
      const exact = compressSync(format, noise(limit));
      const lease = await decompress(exact, { format, pool, maxOutputBytes: limit });
      assert.equal(take(lease, pool).length, limit);
      const over = compressSync(format, noise(limit + 1));
      await assert.rejects(
        decompress(over, { format, pool, maxOutputBytes: limit }),
        isLimit(limit),
      );
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }

  it('maxOutputBytes 0 accepts only empty output', async () => {
    const pool = newPool();
    const empty = await gunzip(compressSync('gzip', Buffer.alloc(0)), { pool, maxOutputBytes: 0 });
    assert.equal(take(empty, pool).length, 0);
    await assert.rejects(
      gunzip(compressSync('gzip', Buffer.from('x')), { pool, maxOutputBytes: 0 }),
      isLimit(0),
    );
  });

  it('the ratio limit applies past 1 MiB of output, not below', async () => {
    const pool = newPool();
    // 1 MiB of zeros is a ratio near 1000:1, but small: accepted by default.
    const small = await gunzip(await zeroBomb('gzip', MiB), { pool });
    assert.equal(take(small, pool).length, MiB);
    // Text at ~4:1 passes the default and fails maxRatio 2 once past 1 MiB.
    const data = text(4 * MiB);
    const gz = compressSync('gzip', data);
    const ratio = data.length / gz.length;
    assert.ok(ratio > 2 && ratio < 100, `text ratio ${ratio}`);
    assert.ok(take(await gunzip(gz, { pool }), pool).equals(data));
    await assert.rejects(gunzip(gz, { pool, maxRatio: 2 }), (err: unknown) => {
      assert.ok(err instanceof LimitExceededError);
      assert.match(err.message, /max ratio 2:1/);
      assert.ok(err.bytesRead > MiB && err.bytesRead < data.length);
      return true;
    });
    // Infinity turns the check off.
    const big = await gunzip(await zeroBomb('gzip', 8 * MiB), {
      pool,
      maxRatio: Number.POSITIVE_INFINITY,
    });
    assert.equal(take(big, pool).length, 8 * MiB);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  for (const format of FORMATS) {
    it(`${format}: a 1 GiB bomb stops at the limit after about one chunk`, async () => {
      const pool = newPool();
      const bomb = await zeroBomb(format, GiB);
      assert.ok(bomb.length < 2 * MiB, `bomb is ${bomb.length} bytes`);
      // For bytes the ratio is the whole input's, so the bomb runs to 100 × its size or to the
      // default 64 MiB of output; streamed, the ratio of what was read stops it after one chunk.
      await assert.rejects(decompress(bomb, { format, pool }), (err: unknown) => {
        assert.ok(err instanceof LimitExceededError);
        const bound = Math.min(64 * MiB, Math.max(MiB, 100 * bomb.length)) + 64 * KiB + 1;
        assert.ok(err.bytesRead <= bound, `stopped at ${err.bytesRead}`);
        return true;
      });
      await assert.rejects(
        decompress(Readable.from(chunked(bomb, 16 * KiB)), { format, pool }),
        (err: unknown) =>
          err instanceof LimitExceededError &&
          /max ratio 100:1/.test(err.message) &&
          err.bytesRead <= MiB + 64 * KiB + 1,
      );
      const limit = 16 * MiB;
      await assert.rejects(
        decompress(Readable.from(chunked(bomb, 16 * KiB)), {
          format,
          pool,
          maxOutputBytes: limit,
          maxRatio: Number.POSITIVE_INFINITY,
        }),
        (err: unknown) =>
          isLimit(limit)(err) && (err as LimitExceededError).bytesRead <= limit + 64 * KiB,
      );
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }
});

describe('decompress: bad input is ERR_SLABIO_BAD_INPUT', () => {
  for (const format of FORMATS) {
    it(`${format}: empty, garbage, truncated${format === 'gzip' || format === 'deflate' ? ', corrupted' : ''}`, async () => {
      const pool = newPool();
      const good = compressSync(format, noise(100 * KiB));
      const corrupted = Buffer.from(good);
      for (let i = 20; i < corrupted.length; i += 97)
        corrupted[i] = (corrupted[i] as number) ^ 0x5a;
      const cases: [string, Buffer][] = [
        ['empty', Buffer.alloc(0)],
        ['garbage', Buffer.from('this is not compressed data at all, not even a little')],
        ['truncated', good.subarray(0, good.length >> 1)],
      ];
      // Only gzip (CRC-32) and zlib (Adler-32) carry a checksum; flipped bits in the stored
      // blocks of raw deflate or brotli decode to other bytes without any error.
      if (format === 'gzip' || format === 'deflate') cases.push(['corrupted', corrupted]);
      for (const [name, input] of cases) {
        await assert.rejects(decompress(input, { format, pool }), isBadInput, `${format} ${name}`);
        await assert.rejects(
          decompress(Readable.from(chunked(input, 999)), { format, pool }),
          isBadInput,
          `${format} ${name} as a stream`,
        );
      }
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }

  for (const format of FORMATS.filter((f) => f !== 'gzip')) {
    it(`${format}: bytes after the end of the compressed stream are refused, not dropped`, async () => {
      const pool = newPool();
      const one = compressSync(format, noise(10 * KiB));
      const inputs: [string, Buffer][] = [
        ['garbage', Buffer.concat([one, Buffer.from('TRAILING')])],
        ['one byte', Buffer.concat([one, Buffer.from('x')])],
        ['a second stream', Buffer.concat([one, one])],
      ];
      for (const [name, input] of inputs) {
        for (const source of [input, Readable.from(chunked(input, 999))]) {
          await assert.rejects(
            decompress(source, { format, pool }),
            (err: unknown) =>
              err instanceof BadInputError &&
              /after the end of the compressed stream/.test(err.message),
            `${format} ${name}`,
          );
        }
      }
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }

  it('gzip: members one after another are all decoded, as gzip -dc does', async () => {
    const pool = newPool();
    const one = compressSync('gzip', noise(10 * KiB));
    const two = await decompress(Buffer.concat([one, one]), { format: 'gzip', pool });
    assert.equal(take(two, pool).length, 20 * KiB);
  });

  it('a source error mid-stream passes through and the source is destroyed', async () => {
    const pool = newPool();
    const gz = compressSync('gzip', noise(MiB));
    const boom = new Error('upstream reset');
    let i = 0;
    const source = new Readable({
      read() {
        if (i < 3) this.push(gz.subarray(i++ * 1000, i * 1000));
        else this.destroy(boom);
      },
    });
    await assert.rejects(gunzip(source, { pool }), (err) => err === boom);
    assert.equal(source.destroyed, true);
    assert.equal(pool.stats().inUseBytes, 0);
  });
});

describe('decompress: aborts', () => {
  it('an aborted signal rejects with its reason before anything is read', async () => {
    const pool = newPool();
    const reason = new Error('client went away');
    const source = Readable.from([compressSync('gzip', noise(KiB))]);
    await assert.rejects(
      gunzip(source, { pool, signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.equal(source.destroyed, true, "the caller's Readable is destroyed");
    let cancelled: unknown = null;
    const web = new ReadableStream<Uint8Array>({
      cancel(why) {
        cancelled = why;
      },
    });
    await assert.rejects(
      gunzip(web, { pool, signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    assert.equal(cancelled, reason, 'a web stream is cancelled with the reason');
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('an aborted signal with a path input opens nothing (no fd, no late error)', async (t) => {
    if (!existsSync('/proc/self/fd')) return t.skip('needs /proc/self/fd to count open files');
    const dir = await tempDir(t);
    const file = path.join(dir, 'x.gz');
    await writeFile(file, compressSync('gzip', noise(KiB)));
    const missing = path.join(dir, 'missing.gz');
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const reason = new Error('gone');
    for (let i = 0; i < 10; i++) {
      for (const input of [file, pathToFileURL(file), missing]) {
        await assert.rejects(
          decompress(input, { format: 'gzip', signal: AbortSignal.abort(reason) }),
          (err) => err === reason,
        );
      }
    }
    // The fs thread pool works in order: once these have run, any open(2) queued before has run
    // too, and a stream opened on `missing` would have raised an uncaught ENOENT.
    for (let i = 0; i < 8; i++) await stat(dir);
    await new Promise((r) => setImmediate(r));
    assert.equal(fds(), before);
  });

  it('aborting mid-stream rejects with the reason, stops the source and releases', async () => {
    const pool = newPool();
    const data = noise(2 * MiB);
    const chunks = chunked(compressSync('brotli', data), 16 * KiB);
    const controller = new AbortController();
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (const c of chunks) {
        pulled++;
        if (pulled === 3) controller.abort(new Error('deadline'));
        await new Promise((r) => setTimeout(r, 2));
        yield c;
      }
    }
    await assert.rejects(
      brotliDecompress(source(), { pool, signal: controller.signal }),
      /deadline/,
    );
    assert.ok(pulled < chunks.length, `pulled ${pulled} of ${chunks.length}`);
    assert.equal(pool.stats().inUseBytes, 0);
  });
});

describe('decompress: arguments', () => {
  it('bad options and inputs name what is wrong', async () => {
    const gz = compressSync('gzip', Buffer.from('x'));
    await assert.rejects(
      gunzip(gz, { maxOutputBytes: -1 }),
      /RangeError.*|options\.maxOutputBytes/,
    );
    await assert.rejects(gunzip(gz, { maxOutputBytes: -1 }), RangeError);
    await assert.rejects(
      gunzip(gz, { maxOutputBytes: '1' as never }),
      /options\.maxOutputBytes must be a non-negative integer or Infinity, got '1'/,
    );
    await assert.rejects(
      gunzip(gz, { maxRatio: 0.5 }),
      /options\.maxRatio must be a number >= 1 or Infinity, got 0.5/,
    );
    await assert.rejects(gunzip(gz, { pool: {} as never }), /options\.pool must be a BufferPool/);
    await assert.rejects(gunzip(gz, { signal: 'x' as never }), /options\.signal/);
    await assert.rejects(gunzip(42 as never), /input must be .* got number/);
    await assert.rejects(
      decompress(gz, { format: 'zip' as never }),
      /format must be one of 'gzip', 'deflate', 'deflate-raw', 'brotli', got 'zip'/,
    );
    await assert.rejects(decompress(gz, undefined as never), /options\.format is required/);
    assert.throws(() => createDecompressStream('lz4' as never), RangeError);
    assert.throws(() => createDecompressStream(4 as never), TypeError);
  });
});

describe('createDecompressStream', () => {
  it('pipes through, counting bytes in and out', async () => {
    const data = text(2 * MiB);
    const gz = compressSync('gzip', data);
    const stream = createDecompressStream('gzip');
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunked(gz, 4096)),
      stream,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    assert.ok(Buffer.concat(out).equals(data));
    assert.equal(stream.bytesOut, data.length);
    assert.equal(stream.bytesIn, gz.length);
    assert.equal(stream.format, 'gzip');
  });

  it('a bomb fails the pipeline with ERR_SLABIO_LIMIT and a slow reader bounds what is buffered', async () => {
    const bomb = await zeroBomb('deflate', 256 * MiB);
    const stream = createDecompressStream('deflate', {
      maxOutputBytes: 32 * MiB,
      maxRatio: Number.POSITIVE_INFINITY,
    });
    let seen = 0;
    let maxBuffered = 0;
    await assert.rejects(
      pipeline(
        Readable.from([bomb]),
        stream,
        new Writable({
          highWaterMark: 64 * KiB,
          write(chunk: Buffer, _e, cb) {
            seen += chunk.length;
            maxBuffered = Math.max(maxBuffered, stream.readableLength);
            setImmediate(cb);
          },
        }),
      ),
      isLimit(32 * MiB),
    );
    assert.ok(seen <= 32 * MiB);
    // zlib stops producing while the readable side is full: one input buffer of 256 MiB of zeros
    // never sits decompressed in memory.
    assert.ok(maxBuffered <= 256 * KiB, `buffered ${maxBuffered}`);
  });

  it('an abort destroys it with the reason', async () => {
    const controller = new AbortController();
    const stream = createDecompressStream('gzip', { signal: controller.signal });
    const closed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    controller.abort(new Error('stop'));
    assert.match(String(await closed), /stop/);
  });
});

describe('decompress: memory is bounded by the limit, not by the bomb', () => {
  it('peak RSS of a fresh process stays far below 1 GiB while refusing 1 GiB bombs', async (t) => {
    const dir = await tempDir(t);
    const files: Record<string, string> = {};
    for (const format of ['gzip', 'brotli'] as const) {
      files[format] = path.join(dir, `bomb.${format}`);
      await writeFile(files[format], await zeroBomb(format, GiB));
    }
    const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.js');
    const child = `
      import { createReadStream, readFileSync } from 'node:fs';
      const { decompress } = await import(${JSON.stringify(entry)});
      const files = JSON.parse(process.argv[1]);
      const results = [];
      for (const [format, file] of Object.entries(files)) {
        for (const input of [readFileSync(file), createReadStream(file)]) {
          try {
            (await decompress(input, { format, maxOutputBytes: 64 << 20, maxRatio: Infinity })).release();
            results.push('accepted');
          } catch (err) { results.push(err.code); }
        }
      }
      console.log(JSON.stringify({ results, maxRssKiB: process.resourceUsage().maxRSS }));
    `;
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', child, JSON.stringify(files)],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const { results, maxRssKiB } = JSON.parse(run.stdout) as {
      results: string[];
      maxRssKiB: number;
    };
    assert.deepEqual(results, Array(4).fill('ERR_SLABIO_LIMIT'));
    // A fresh Node process is ~45 MiB; the 64 MiB limit is held in pool blocks at most once
    // (growth copies into the final lease only on success). 1 GiB would show up as > 1 GiB.
    const peakMiB = maxRssKiB / 1024;
    t.diagnostic(`peak RSS ${peakMiB.toFixed(0)} MiB`);
    assert.ok(peakMiB < 64 + 160, `peak RSS ${peakMiB} MiB`);
  });
});

describe('decompress: a source of chunks that are not bytes rejects with a TypeError', () => {
  // Node's Writable throws from write() for such chunks, and pipe() calls it inside the source's
  // 'data' listener: the throw was an uncaught exception. Any that reaches the process fails here.
  const uncaught: unknown[] = [];
  const record = (err: unknown): void => {
    uncaught.push(err);
  };
  before(() => process.on('uncaughtException', record));
  beforeEach(() => {
    uncaught.length = 0;
  });
  after(() => process.removeListener('uncaughtException', record));
  async function settled(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(uncaught, [], 'no uncaught exception');
  }
  function isNotBytes(what: string) {
    return (err: unknown): boolean => {
      assert.ok(err instanceof TypeError, `expected TypeError, got ${err}`);
      assert.match(err.message, new RegExp(`chunk that is not bytes or a string: ${what}$`));
      return true;
    };
  }

  const entries: [string, (input: never, pool: BufferPool) => Promise<Lease>][] = [
    ['gunzip', (input, pool) => gunzip(input, { pool })],
    ['inflate', (input, pool) => inflate(input, { pool })],
    ['brotliDecompress', (input, pool) => brotliDecompress(input, { pool })],
    ['decompress deflate-raw', (input, pool) => decompress(input, { format: 'deflate-raw', pool })],
  ];
  const formatOf: Record<string, CompressionFormat> = {
    gunzip: 'gzip',
    inflate: 'deflate',
    brotliDecompress: 'brotli',
    'decompress deflate-raw': 'deflate-raw',
  };
  const leasePool = newPool();
  const leases: Lease[] = [];
  after(() => {
    for (const lease of leases)
      assert.equal(lease.released, false, "a caller's lease stays theirs");
    for (const lease of leases) lease.release();
  });
  // [name, the bad chunk, what the message names]; null only from an iterable (a Readable ends on it).
  const bad: [string, () => unknown, string][] = [
    ['object', () => ({ a: 1 }), 'Object'],
    ['number', () => 1, 'number'],
    ['boolean', () => true, 'boolean'],
    ['array of bytes', () => [0x1f, 0x8b], 'Array'],
    ['Lease', () => leases[leases.push(leasePool.acquire(16)) - 1], 'Lease'],
    ['Uint16Array', () => new Uint16Array(4), 'Uint16Array'],
  ];

  for (const [name, entry] of entries) {
    it(`${name}: every chunk kind, from a Readable, an async iterable and a web stream`, async () => {
      const pool = newPool();
      const valid = compressSync(formatOf[name] as CompressionFormat, noise(64 * KiB));
      const head = valid.subarray(0, 100);
      for (const [kind, make, what] of bad) {
        for (const prefix of [[], [head]] as Buffer[][]) {
          const label = `${name}: ${kind}${prefix.length > 0 ? ' after valid bytes' : ''}`;
          const readable = Readable.from([...prefix, make(), valid.subarray(100)]);
          await assert.rejects(entry(readable as never, pool), isNotBytes(what), label);
          assert.equal(readable.destroyed, true, `${label}: the Readable is destroyed`);

          let ended = false;
          const chunk = make();
          async function* iterable(): AsyncGenerator<unknown> {
            try {
              yield* prefix;
              yield chunk;
              yield valid.subarray(100);
            } finally {
              ended = true;
            }
          }
          await assert.rejects(entry(iterable() as never, pool), isNotBytes(what), label);
          assert.equal(ended, true, `${label}: the iteration is ended`);

          let cancelled = false;
          const web = new ReadableStream<unknown>({
            start(controller) {
              for (const c of prefix) controller.enqueue(c);
              controller.enqueue(make());
            },
            cancel() {
              cancelled = true;
            },
          });
          await assert.rejects(entry(web as never, pool), isNotBytes(what), label);
          assert.equal(cancelled, true, `${label}: the web stream is cancelled`);
          assert.equal(pool.stats().inUseBytes, 0, `${label}: nothing leased`);
        }
      }
      async function* nulls(): AsyncGenerator<unknown> {
        yield head;
        yield null;
      }
      await assert.rejects(entry(nulls() as never, pool), isNotBytes('null'), `${name}: null`);
      assert.equal(pool.stats().inUseBytes, 0);
      await settled();
    });
  }

  it('strings are read as their UTF-8 bytes, as readAll reads them', async () => {
    const pool = newPool();
    const data = noise(32 * KiB);
    for (const format of FORMATS) {
      const compressed = compressSync(format, data);
      // One ASCII byte of the compressed data goes as a string: its UTF-8 encoding is that byte.
      const at = compressed.findIndex((b, i) => i > 0 && b > 0 && b < 0x80);
      const chunks = [
        compressed.subarray(0, at),
        String.fromCharCode(compressed[at] as number),
        compressed.subarray(at + 1),
      ];
      const lease = await decompress(Readable.from(chunks), { format, pool });
      assert.ok(take(lease, pool).equals(data), format);
    }
    await settled();
  });

  it('createDecompressStream: pipeline rejects, write() and end() never throw', async () => {
    const source = Readable.from([{ a: 1 }]);
    await assert.rejects(
      pipeline(
        source,
        createDecompressStream('gzip'),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
      isNotBytes('Object'),
    );
    assert.equal(source.destroyed, true);

    const written = createDecompressStream('brotli');
    const errored = new Promise((resolve) => written.once('error', resolve));
    const calledBack = new Promise((resolve) => written.write(42, resolve));
    assert.ok(isNotBytes('number')(await calledBack));
    assert.ok(isNotBytes('number')(await errored));
    assert.equal(written.destroyed, true);

    const ended = createDecompressStream('deflate');
    const endError = new Promise((resolve) => ended.once('error', resolve));
    ended.end(Symbol('x') as never);
    assert.ok(isNotBytes('symbol')(await endError));
    await settled();
  });
});
