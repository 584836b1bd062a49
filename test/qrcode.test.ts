import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import qrcode from 'qrcode';
import { BadInputError, BufferPool, getDefaultPool, PoolExhaustedError } from 'slabio';
import { type RenderQrOptions, renderQr } from 'slabio/qrcode';
import { decodeGray, decodePng, matrixImage, readPng, readSvg } from './qrcode-helpers.js';

function inUse(pool: BufferPool = getDefaultPool()): number {
  return pool.stats().inUseBytes;
}

/** Render, copy out, release: tests look at bytes, the pool gets its block back at once. */
function png(text: string, options: RenderQrOptions = {}): Buffer {
  const lease = renderQr(text, options);
  try {
    return Buffer.from(lease.buffer);
  } finally {
    lease.release();
  }
}

// Byte-mode capacity of a version-40 symbol (ISO/IEC 18004 table 7).
const MAX_BYTES = { L: 2953, H: 1273 } as const;

describe('renderQr: decoded PNG equals the text', () => {
  const cases: [string, string][] = [
    ['ASCII URL', 'https://example.com/tickets/42?seat=A7'],
    ['UTF-8 Chinese and emoji', '你好，世界：二维码批量生成 🎫'],
    ['digits only (numeric mode)', '01234567890123456789'],
    ['long payload, 1000 bytes', 'slabio-'.repeat(143).slice(0, 1000)],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      assert.equal(decodePng(png(text)), text);
      assert.equal(inUse(), 0);
    });
  }

  for (const level of ['L', 'M', 'Q', 'H'] as const) {
    it(`error correction level ${level}`, () => {
      const text = `level ${level}: 纸`;
      assert.equal(decodePng(png(text, { errorCorrectionLevel: level, scale: 2 })), text);
    });
  }

  it('exactly at the version-40 capacity decodes; one byte more is ERR_SLABIO_BAD_INPUT', () => {
    const text = 'a'.repeat(MAX_BYTES.H);
    assert.equal(decodePng(png(text, { errorCorrectionLevel: 'H', scale: 2 })), text);
    assert.throws(
      () => renderQr(`${text}a`, { errorCorrectionLevel: 'H' }),
      (err: unknown) =>
        err instanceof BadInputError &&
        err.code === 'ERR_SLABIO_BAD_INPUT' &&
        err.cause instanceof Error &&
        /1274 bytes/.test(err.message),
    );
    // The same text fits at level L.
    assert.equal(decodePng(png(`${text}a`, { errorCorrectionLevel: 'L', scale: 2 })), `${text}a`);
    assert.throws(() => renderQr('a'.repeat(MAX_BYTES.L + 1), { errorCorrectionLevel: 'L' }), {
      code: 'ERR_SLABIO_BAD_INPUT',
    });
    assert.equal(inUse(), 0);
  });

  it('empty text is ERR_SLABIO_BAD_INPUT with the qrcode error as cause', () => {
    assert.throws(
      () => renderQr(''),
      (err: unknown) => err instanceof BadInputError && err.cause instanceof Error,
    );
  });
});

describe('renderQr: the PNG file itself', () => {
  it('pixels equal the module matrix for any text, scale and margin (also widths not ÷ 8)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom('L', 'M', 'Q', 'H' as const),
        (text, scale, margin, errorCorrectionLevel) => {
          const bytes = png(text, { scale, margin, errorCorrectionLevel });
          const { size, data } = qrcode.create(text, { errorCorrectionLevel }).modules;
          const img = readPng(bytes);
          const want = matrixImage(size, data, scale, margin);
          assert.equal(img.width, (size + 2 * margin) * scale);
          assert.equal(img.height, img.width);
          assert.deepEqual(img.pixels, want.pixels);
        },
      ),
      { numRuns: 60 },
    );
    assert.equal(inUse(), 0);
  });

  it('pngjs (an independent decoder, CRC checks on) reads the same pixels', () => {
    const bytes = png('pngjs cross-check ✓', { scale: 3, margin: 2 });
    const ours = readPng(bytes);
    const theirs = PNG.sync.read(bytes, { checkCRC: true });
    assert.equal(theirs.width, ours.width);
    assert.equal(theirs.height, ours.height);
    for (let i = 0; i < ours.pixels.length; i++) {
      if (theirs.data[i * 4] !== ours.pixels[i]) assert.fail(`pixel ${i} differs`);
    }
  });

  it('the lease holds exactly the PNG and is smaller than qrcode.toBuffer output', async () => {
    const text = 'https://example.com/t/1';
    const lease = renderQr(text);
    const length = lease.buffer.length;
    assert.equal(lease.buffer.readUInt32BE(length - 8), 0x49454e44, 'ends with IEND');
    lease.release();
    assert.ok(length < (await qrcode.toBuffer(text)).length);
  });
});

describe('renderQr: SVG', () => {
  it('draws exactly the module matrix, at the requested size, and decodes', () => {
    const text = 'svg: 二维码';
    const lease = renderQr(text, { format: 'svg', scale: 5, margin: 3 });
    const svg = lease.buffer.toString('utf8');
    assert.equal(Buffer.byteLength(svg), lease.buffer.length);
    lease.release();
    const { size, data } = qrcode.create(text, { errorCorrectionLevel: 'M' }).modules;
    const parsed = readSvg(svg);
    assert.equal(parsed.viewBoxModules, size + 6);
    assert.equal(parsed.widthPx, (size + 6) * 5);
    const n = parsed.viewBoxModules;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const inside = y >= 3 && x >= 3 && y < size + 3 && x < size + 3;
        const want = inside ? (data[(y - 3) * size + (x - 3)] as number) : 0;
        if (parsed.cells[y * n + x] !== want) assert.fail(`module ${x},${y}`);
      }
    }
    assert.equal(decodeGray(matrixImage(n, parsed.cells, 4, 0)), text);
  });
});

describe('renderQr: bad arguments', () => {
  const table: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      'text not a string',
      () => renderQr(42 as unknown as string),
      TypeError,
      /text must be a string, got 42/,
    ],
    ['scale 0', () => renderQr('x', { scale: 0 }), RangeError, /options\.scale.*got 0/],
    ['scale 1.5', () => renderQr('x', { scale: 1.5 }), RangeError, /options\.scale.*1\.5/],
    ['scale 65', () => renderQr('x', { scale: 65 }), RangeError, /options\.scale.*65/],
    ['scale "4"', () => renderQr('x', { scale: '4' as unknown as number }), TypeError, /scale/],
    ['margin -1', () => renderQr('x', { margin: -1 }), RangeError, /options\.margin.*-1/],
    [
      'level "X"',
      () => renderQr('x', { errorCorrectionLevel: 'X' as 'L' }),
      RangeError,
      /options\.errorCorrectionLevel.*X/,
    ],
    [
      'format gif',
      () => renderQr('x', { format: 'gif' as 'png' }),
      RangeError,
      /options\.format.*gif/,
    ],
    ['pool {}', () => renderQr('x', { pool: {} as BufferPool }), TypeError, /options\.pool/],
    ['options null', () => renderQr('x', null as unknown as RenderQrOptions), TypeError, /options/],
  ];
  for (const [name, fn, type, message] of table) {
    it(name, () => {
      assert.throws(fn, (err: unknown) => err instanceof type && message.test(String(err)));
      assert.equal(inUse(), 0);
    });
  }

  it('scale and margin at their limits are accepted', () => {
    png('x', { scale: 1, margin: 0 });
    assert.equal(readPng(png('x', { scale: 64, margin: 64 })).width, (21 + 128) * 64);
  });
});

describe('renderQr: pool', () => {
  it('uses the given pool and returns both blocks on release', () => {
    using pool = new BufferPool({ sizeClasses: [4096, 16384], maxBytes: 1 << 20 });
    const lease = renderQr('own pool');
    lease.release();
    const mine = renderQr('own pool', { pool });
    assert.equal(pool.stats().inUseBytes, 4096);
    mine.release();
    assert.equal(pool.stats().inUseBytes, 0);
    assert.equal(pool.stats().hits + pool.stats().misses, 2, 'scanlines + PNG');
  });

  it('an exhausted pool throws ERR_SLABIO_POOL_EXHAUSTED; one block of budget is enough', () => {
    using pool = new BufferPool({
      sizeClasses: [4096],
      slabBytes: 4096,
      maxBytes: 4096,
      onExhausted: 'throw',
    });
    using held = pool.acquire(4096);
    assert.throws(() => renderQr('x', { pool }), PoolExhaustedError);
    assert.equal(pool.stats().inUseBytes, 4096);
    held.release();
    // The scanline block goes back before the PNG's is taken, so a one-block budget is enough.
    const lease = renderQr('x', { pool });
    assert.equal(decodePng(lease.buffer), 'x');
    lease.release();
    assert.equal(pool.stats().inUseBytes, 0);
  });
});
