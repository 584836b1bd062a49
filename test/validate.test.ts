import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import {
  BufferPool,
  createDecompressStream,
  decompress,
  drainAndExit,
  dropCache,
  getDefaultPool,
  gunzip,
  MemoryGuard,
  PageCacheRegistry,
  pump,
  RenderWorkers,
  readAll,
  readCgroupMemory,
  readChunks,
  readFileNoCache,
  residency,
  sweepStale,
  writeFileNoCache,
} from '../src/index.js';
import { renderPdf } from '../src/integrations/pdfkit/index.js';
import { qrBatch, renderQr } from '../src/integrations/qrcode/index.js';
import { configureSharp, decodeRaw, transformImage } from '../src/integrations/sharp/index.js';
import { extractZip } from '../src/integrations/zip/index.js';
import { fadvise, pwritev2 } from '../src/linux/index.js';
import { registerSlabioMetrics } from '../src/prom.js';
import {
  booleanOption,
  checkFd,
  checkFunction,
  checkInteger,
  checkNumber,
  checkObject,
  checkSignal,
  checkString,
  functionOption,
  intOption,
  MAX_FD,
  numberOption,
  objectOption,
  oneOf,
  poolOption,
  shown,
  stringOption,
} from '../src/validate.js';

/** The error a checker throws: its class and its exact message. */
function error(name: 'TypeError' | 'RangeError', message: string) {
  return { name, message };
}

describe('shown: how a message quotes a value', () => {
  it('quotes strings, prints primitives, names objects', () => {
    assert.equal(shown('yes'), "'yes'");
    assert.equal(shown(''), "''");
    assert.equal(shown('a\nb'), "'a\\nb'");
    assert.equal(shown('x'.repeat(100)), `'${'x'.repeat(64)}…'`);
    assert.equal(shown(-1), '-1');
    assert.equal(shown(Number.NaN), 'NaN');
    assert.equal(shown(Number.NEGATIVE_INFINITY), '-Infinity');
    assert.equal(shown(5n), '5n');
    assert.equal(shown(null), 'null');
    assert.equal(shown(undefined), 'undefined');
    assert.equal(shown(true), 'true');
    assert.equal(shown(Symbol('s')), 'Symbol(s)');
    assert.equal(shown({}), 'an object');
    assert.equal(shown(Object.create(null)), 'an object');
    assert.equal(shown([1]), 'an array');
    assert.equal(shown(new Map()), 'an instance of Map');
    assert.equal(
      shown(() => 1),
      'a function',
    );
    assert.equal(shown(shown), 'function shown');
  });
});

describe('checkInteger and intOption', () => {
  it('takes safe integers from 0 by default; refuses the rest as RangeError, non-numbers as TypeError', () => {
    for (const v of [0, 1, Number.MAX_SAFE_INTEGER]) assert.equal(checkInteger('n', v), v);
    for (const v of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => checkInteger('n', v),
        error('RangeError', `n must be a non-negative integer, got ${v}`),
      );
    }
    for (const v of ['1', null, undefined, 1n, {}]) {
      assert.throws(
        () => checkInteger('n', v),
        error('TypeError', `n must be a non-negative integer, got ${shown(v)}`),
      );
    }
  });

  it('names the range in words, and Infinity where it is allowed', () => {
    const cases: [Parameters<typeof checkInteger>[2], string, number][] = [
      [{ min: 1 }, 'a positive integer', 0],
      [{ min: 0, above: true }, 'a positive integer', 0],
      [{ min: 4096 }, 'an integer >= 4096', 4095],
      [{ min: 1, max: 64 }, 'an integer from 1 to 64', 65],
      [{ max: 64 }, 'an integer from 0 to 64', -1],
      [{ min: Number.MIN_SAFE_INTEGER }, 'an integer', 0.5],
      [{ infinity: true }, 'a non-negative integer or Infinity', Number.NEGATIVE_INFINITY],
      [{ max: 10, infinity: true }, 'an integer from 0 to 10 or Infinity', 11],
    ];
    for (const [range, words, bad] of cases) {
      assert.throws(
        () => checkInteger('options.x', bad, range),
        error('RangeError', `options.x must be ${words}, got ${bad}`),
      );
    }
    assert.equal(checkInteger('x', 64, { min: 1, max: 64 }), 64);
    assert.equal(checkInteger('x', -5, { min: Number.MIN_SAFE_INTEGER }), -5);
    assert.equal(
      checkInteger('x', Number.POSITIVE_INFINITY, { infinity: true }),
      Number.POSITIVE_INFINITY,
    );
  });

  it('intOption gives the fallback for undefined only', () => {
    assert.equal(intOption('x', undefined, 7), 7);
    assert.equal(intOption('x', 0, 7), 0);
    assert.throws(() => intOption('x', null, 7), { name: 'TypeError' });
  });
});

describe('checkNumber and numberOption', () => {
  it('takes finite numbers >= 0 by default; Infinity and NaN only where said', () => {
    for (const v of [0, 0.5, 1e300]) assert.equal(checkNumber('n', v), v);
    for (const v of [-0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => checkNumber('n', v),
        error('RangeError', `n must be a number >= 0, got ${v}`),
      );
    }
    assert.throws(
      () => checkNumber('n', '1'),
      error('TypeError', "n must be a number >= 0, got '1'"),
    );
    const r = { min: 1, infinity: true };
    assert.equal(checkNumber('r', Number.POSITIVE_INFINITY, r), Number.POSITIVE_INFINITY);
    assert.equal(checkNumber('r', 1, r), 1);
    for (const v of [0.5, Number.NaN]) {
      assert.throws(
        () => checkNumber('options.maxRatio', v, r),
        error('RangeError', `options.maxRatio must be a number >= 1 or Infinity, got ${v}`),
      );
    }
    assert.throws(
      () => checkNumber('s', 0, { min: 0, above: true }),
      error('RangeError', 's must be a number > 0, got 0'),
    );
    assert.throws(
      () => checkNumber('t', 2 ** 31, { max: 2 ** 31 - 1 }),
      error('RangeError', `t must be a number from 0 to ${2 ** 31 - 1}, got ${2 ** 31}`),
    );
    assert.equal(numberOption('x', undefined, 0.125), 0.125);
  });
});

describe('oneOf', () => {
  const allowed = ['wait', 'allocate', 'throw'] as const;
  const words = "one of 'wait', 'allocate', 'throw'";

  it('takes a member or the fallback; a string outside is a RangeError, another type a TypeError', () => {
    assert.equal(oneOf('p', undefined, allowed, 'wait'), 'wait');
    assert.equal(oneOf('p', 'throw', allowed, 'wait'), 'throw');
    for (const bad of ['panic', 'toString', 'constructor', '']) {
      assert.throws(
        () => oneOf('options.p', bad, allowed, 'wait'),
        error('RangeError', `options.p must be ${words}, got '${bad}'`),
      );
    }
    assert.throws(
      () => oneOf('options.p', 4, allowed, 'wait'),
      error('TypeError', `options.p must be ${words}, got 4`),
    );
  });

  it('without a fallback, undefined is refused', () => {
    assert.throws(
      () => oneOf('format', undefined, allowed),
      error('TypeError', `format must be ${words}, got undefined`),
    );
  });
});

describe('objects, pools, signals, functions, booleans, strings, fds', () => {
  it('checkObject refuses null, primitives and functions; objectOption lets undefined through', () => {
    checkObject('options', {});
    checkObject('options', []);
    for (const v of [null, undefined, 1, 'x', () => {}]) {
      assert.throws(
        () => checkObject('options', v),
        error('TypeError', `options must be an object, got ${shown(v)}`),
      );
    }
    assert.equal(objectOption('options.write', undefined), undefined);
    assert.throws(
      () => objectOption('options.write', null),
      error('TypeError', 'options.write must be an object, got null'),
    );
  });

  it('poolOption: a BufferPool, the default pool for undefined', () => {
    const pool = new BufferPool({ maxBytes: 1 << 20, sizeClasses: [4096] });
    try {
      assert.equal(poolOption(pool), pool);
      assert.equal(poolOption(undefined), getDefaultPool());
      assert.throws(
        () => poolOption({}),
        error('TypeError', 'options.pool must be a BufferPool, got an object'),
      );
    } finally {
      pool.close();
    }
  });

  it('checkSignal checks the type only: an aborted signal is returned for the caller to reject with its reason', () => {
    const aborted = AbortSignal.abort(new Error('stop'));
    assert.equal(checkSignal(aborted), aborted);
    assert.equal(checkSignal(undefined), undefined);
    assert.throws(
      () => checkSignal('x'),
      error('TypeError', "options.signal must be an AbortSignal, got 'x'"),
    );
    assert.throws(
      () => checkSignal({}, 'signal'),
      error('TypeError', 'signal must be an AbortSignal, got an object'),
    );
  });

  it('functions, booleans and strings', () => {
    checkFunction('build', () => {});
    assert.throws(
      () => checkFunction('build', 'x'),
      error('TypeError', "build must be a function, got 'x'"),
    );
    assert.equal(functionOption('options.onEntry', undefined), undefined);
    assert.throws(
      () => functionOption('options.onEntry', 42),
      error('TypeError', 'options.onEntry must be a function, got 42'),
    );
    assert.equal(booleanOption('b', undefined, true), true);
    assert.equal(booleanOption('b', false, true), false);
    assert.throws(
      () => booleanOption('options.b', 'yes', true),
      error('TypeError', "options.b must be a boolean, got 'yes'"),
    );
    checkString('s', 'x');
    checkString('s', '', true);
    assert.throws(
      () => checkString('s', ''),
      error('TypeError', "s must be a non-empty string, got ''"),
    );
    assert.throws(() => checkString('s', 1, true), error('TypeError', 's must be a string, got 1'));
    assert.equal(stringOption('s', undefined, 'slabio'), 'slabio');
    assert.equal(stringOption('s', undefined), undefined);
    assert.equal(stringOption('s', '', 'x', true), '');
  });

  it('checkFd: 0 to 2^31 - 1, so no fd wraps onto another in C', () => {
    assert.equal(checkFd(0), 0);
    assert.equal(checkFd(MAX_FD), MAX_FD);
    for (const v of [-1, MAX_FD + 1, 2 ** 32 + 3, 1.5]) {
      assert.throws(
        () => checkFd(v),
        error('RangeError', `fd must be an integer from 0 to ${MAX_FD}, got ${v}`),
      );
    }
    assert.throws(
      () => checkFd('3'),
      error('TypeError', `fd must be an integer from 0 to ${MAX_FD}, got '3'`),
    );
  });
});

/**
 * Every public entry point that takes options, called with `options` set to `bad`. Each must
 * refuse before it starts any work, so nothing here opens a file, a thread or a timer.
 */
function entryPoints(dir: string): [string, (bad: unknown) => unknown][] {
  const pool = getDefaultPool();
  const gz = gzipSync('x');
  const file = join(dir, 'never-written');
  const o = <T>(bad: unknown) => bad as T;
  return [
    ['new BufferPool', (bad) => new BufferPool(o(bad))],
    ['pool.acquireAsync', (bad) => pool.acquireAsync(1, o(bad))],
    ['readAll', (bad) => readAll(Readable.from([]), o(bad))],
    ['pump', (bad) => pump(Readable.from([]), new PassThrough(), o(bad))],
    ['readChunks', (bad) => readChunks(file, o(bad))],
    ['gunzip', (bad) => gunzip(gz, o(bad))],
    ['createDecompressStream', (bad) => createDecompressStream('gzip', o(bad))],
    ['writeFileNoCache', (bad) => writeFileNoCache(file, Buffer.from('x'), o(bad))],
    ['readFileNoCache', (bad) => readFileNoCache(file, o(bad))],
    ['sweepStale', (bad) => sweepStale(dir, o(bad))],
    ['residency', (bad) => residency(file, o(bad))],
    ['dropCache', (bad) => dropCache(file, o(bad))],
    ['fadvise', (bad) => fadvise(0, 0, 0, 'normal', o(bad))],
    ['pwritev2', (bad) => pwritev2(0, [], 0, o(bad))],
    ['new MemoryGuard', (bad) => new MemoryGuard(o(bad))],
    ['drainAndExit', (bad) => drainAndExit({} as Server, o(bad))],
    ['new PageCacheRegistry', (bad) => new PageCacheRegistry(o(bad))],
    ['readCgroupMemory', (bad) => readCgroupMemory(o(bad))],
    ['new RenderWorkers', (bad) => new RenderWorkers(o(bad))],
    ['registerSlabioMetrics', (bad) => registerSlabioMetrics(o(bad))],
    ['extractZip', (bad) => extractZip(gz, dir, o(bad))],
    ['transformImage', (bad) => transformImage(gz, (i) => i, o(bad))],
    ['decodeRaw', (bad) => decodeRaw(gz, o(bad))],
    ['configureSharp', (bad) => configureSharp(o(bad))],
    ['renderQr', (bad) => renderQr('x', o(bad))],
    ['qrBatch', (bad) => qrBatch([], o(bad))],
    ['renderPdf', (bad) => renderPdf(() => {}, o(bad))],
  ];
}

/** Each entry point refuses one bad option in the module's words. */
const BAD_OPTIONS: [string, (dir: string) => unknown, 'TypeError' | 'RangeError', string][] = [
  [
    'new BufferPool',
    () => new BufferPool({ maxBytes: '1' as never }),
    'TypeError',
    "options.maxBytes must be a positive integer, got '1'",
  ],
  [
    'new BufferPool',
    () => new BufferPool({ onExhausted: 'panic' as never }),
    'RangeError',
    "options.onExhausted must be one of 'wait', 'allocate', 'throw', got 'panic'",
  ],
  [
    'new BufferPool',
    () => new BufferPool({ spareRatio: -1 }),
    'RangeError',
    'options.spareRatio must be a number >= 0 or Infinity, got -1',
  ],
  [
    'pool.acquire',
    () => getDefaultPool().acquire(-1),
    'RangeError',
    'size must be a non-negative integer, got -1',
  ],
  [
    'pool.acquireAsync',
    () => getDefaultPool().acquireAsync(1, { timeoutMs: -1 }),
    'RangeError',
    `options.timeoutMs must be a number from 0 to ${2 ** 31 - 1}, got -1`,
  ],
  [
    'readAll',
    () => readAll(Readable.from([]), { maxBytes: -1 }),
    'RangeError',
    'options.maxBytes must be a non-negative integer or Infinity, got -1',
  ],
  [
    'readAll',
    () => readAll(Readable.from([]), { signal: {} as never }),
    'TypeError',
    'options.signal must be an AbortSignal, got an object',
  ],
  [
    'pump',
    () => pump(Readable.from([]), new PassThrough(), { blocks: 0 }),
    'RangeError',
    'options.blocks must be a positive integer, got 0',
  ],
  [
    'gunzip',
    () => gunzip(gzipSync('x'), { maxRatio: 0.5 }),
    'RangeError',
    'options.maxRatio must be a number >= 1 or Infinity, got 0.5',
  ],
  [
    'gunzip',
    () => gunzip(gzipSync('x'), { pool: {} as never }),
    'TypeError',
    'options.pool must be a BufferPool, got an object',
  ],
  [
    'createDecompressStream',
    () => createDecompressStream('lz4' as never),
    'RangeError',
    "format must be one of 'gzip', 'deflate', 'deflate-raw', 'brotli', got 'lz4'",
  ],
  [
    'decompress',
    () => decompress(gzipSync('x'), { format: 4 as never }),
    'TypeError',
    "options.format must be one of 'gzip', 'deflate', 'deflate-raw', 'brotli', got 4",
  ],
  [
    'writeFileNoCache',
    (dir) => writeFileNoCache(join(dir, 'w'), Buffer.from('x'), { strategy: 'fast' as never }),
    'RangeError',
    "options.strategy must be one of 'auto', 'dontcache', 'windowed', 'none', got 'fast'",
  ],
  [
    'readFileNoCache',
    (dir) => readFileNoCache(join(dir, 'r'), { chunkBytes: 1000 }),
    'RangeError',
    'options.chunkBytes must be an integer >= 4096, got 1000',
  ],
  [
    'sweepStale',
    (dir) => sweepStale(dir, { maxAgeMs: '1' as never }),
    'TypeError',
    "options.maxAgeMs must be a number >= 0 or Infinity, got '1'",
  ],
  [
    'residency',
    (dir) => residency(join(dir, 'r'), { method: 'fast' as never }),
    'RangeError',
    "options.method must be one of 'auto', 'cachestat', 'mincore', got 'fast'",
  ],
  [
    'fadvise',
    () => fadvise(0, -1, 0, 'normal'),
    'RangeError',
    'offset must be a non-negative integer, got -1',
  ],
  [
    'fadvise',
    () => fadvise(0, 0, 0, 'toString' as never),
    'RangeError',
    "advice must be one of 'normal', 'random', 'sequential', 'willneed', 'dontneed', 'noreuse', got 'toString'",
  ],
  [
    'pwritev2',
    () => pwritev2(2 ** 32, [], 0),
    'RangeError',
    `fd must be an integer from 0 to ${2 ** 31 - 1}, got ${2 ** 32}`,
  ],
  [
    'new MemoryGuard',
    () => new MemoryGuard({ soft: 0 }),
    'RangeError',
    'options.soft must be a number > 0, got 0',
  ],
  [
    'new MemoryGuard',
    () => new MemoryGuard({ hardBase: 'max' as never }),
    'RangeError',
    "options.hardBase must be one of 'ceiling', 'limit', got 'max'",
  ],
  [
    'new MemoryGuard',
    () => new MemoryGuard({ onHard: 'x' as never }),
    'TypeError',
    "options.onHard must be a function, got 'x'",
  ],
  [
    'drainAndExit',
    () => drainAndExit({} as Server, { deadlineMs: -1 }),
    'RangeError',
    'options.deadlineMs must be a number >= 0, got -1',
  ],
  [
    'new PageCacheRegistry',
    () => new PageCacheRegistry({ maxEntries: 0 }),
    'RangeError',
    'options.maxEntries must be a positive integer, got 0',
  ],
  [
    'readCgroupMemory',
    () => readCgroupMemory({ hostMemory: 0 }),
    'RangeError',
    'options.hostMemory must be a number > 0 or Infinity, got 0',
  ],
  [
    'new RenderWorkers',
    () => new RenderWorkers({ max: 0 }),
    'RangeError',
    'options.max must be an integer from 1 to 256, got 0',
  ],
  [
    'registerSlabioMetrics',
    () => registerSlabioMetrics({ registry: new Registry(), cacheMs: -1 }),
    'RangeError',
    'options.cacheMs must be a number >= 0, got -1',
  ],
  [
    'extractZip',
    (dir) => extractZip(gzipSync('x'), dir, { foldCase: 'yes' as never }),
    'TypeError',
    "options.foldCase must be a boolean, got 'yes'",
  ],
  [
    'extractZip',
    (dir) => extractZip(gzipSync('x'), dir, { maxEntries: 1.5 }),
    'RangeError',
    'options.maxEntries must be a non-negative integer or Infinity, got 1.5',
  ],
  [
    'transformImage',
    () => transformImage(gzipSync('x'), (i) => i, { timeoutSeconds: 1.5 }),
    'RangeError',
    'options.timeoutSeconds must be an integer from 0 to 3600, got 1.5',
  ],
  [
    'configureSharp',
    () => configureSharp({ concurrency: -1 }),
    'RangeError',
    'options.concurrency must be a non-negative integer, got -1',
  ],
  [
    'renderQr',
    () => renderQr('x', { scale: 65 }),
    'RangeError',
    'options.scale must be an integer from 1 to 64, got 65',
  ],
  [
    'renderQr',
    () => renderQr('x', { format: 'gif' as never }),
    'RangeError',
    "options.format must be one of 'png', 'svg', got 'gif'",
  ],
  [
    'qrBatch',
    () => qrBatch([], { outDir: '' }),
    'TypeError',
    "options.outDir must be a non-empty string, got ''",
  ],
  [
    'renderPdf',
    () => renderPdf(() => {}, { atomic: 'yes' as never }),
    'TypeError',
    "options.atomic must be a boolean, got 'yes'",
  ],
  ['renderPdf', () => renderPdf('x' as never), 'TypeError', "build must be a function, got 'x'"],
];

describe('every public entry point checks its options in the same words', () => {
  it("refuses options that are not an object: 'options must be an object, got …'", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'slabio-validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [name, call] of entryPoints(dir)) {
      for (const bad of [null, 42, 'x']) {
        await assert.rejects(
          async () => call(bad),
          error('TypeError', `options must be an object, got ${shown(bad)}`),
          `${name}(${shown(bad)})`,
        );
      }
    }
  });

  it('refuses a bad option with a TypeError or RangeError naming it and quoting the value', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'slabio-validate-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [name, call, type, message] of BAD_OPTIONS) {
      await assert.rejects(async () => call(dir), error(type, message), name);
    }
  });

  it('an already-aborted signal rejects with its reason, before any work', async () => {
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    await assert.rejects(fadvise(0, 0, 0, 'normal', { signal }), (err) => err === reason);
    await assert.rejects(dropCache(0, { signal }), (err) => err === reason);
    await assert.rejects(readCgroupMemory({ signal }), (err) => err === reason);
  });
});
