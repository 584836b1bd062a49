import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import {
  BadInputError,
  BufferPool,
  LimitExceededError,
  PoolExhaustedError,
  UseAfterReleaseError,
} from 'slabio';
import {
  DEFAULT_LIMIT_INPUT_PIXELS,
  decodeRaw,
  type ImageInput,
  type TransformImageOptions,
  transformImage,
} from 'slabio/sharp';
import { fileTempDir } from './helpers.js';
import { isWellFormedPng, photo, pngHeaderOnly, pngjsDecode } from './sharp-helpers.js';

const pool = new BufferPool({ maxBytes: 128 << 20, idleTrimMs: 0 });

function inUse(): number {
  return pool.stats().inUseBytes;
}

const dir = fileTempDir();
let jpeg: Buffer;
let png: Buffer;

before(async () => {
  jpeg = await photo(320, 240, 'jpeg');
  png = await photo(320, 240, 'png');
});

/** The two entry points, called the same way. */
const entries: [
  string,
  (input: ImageInput, options?: TransformImageOptions) => Promise<unknown>,
][] = [
  ['transformImage', (input, options) => transformImage(input, (img) => img.resize(50), options)],
  ['decodeRaw', (input, options) => decodeRaw(input, options)],
];

/** How the same bytes reach slabio. */
const deliveries: [string, (bytes: Buffer) => Promise<ImageInput>][] = [
  ['Buffer', async (bytes) => bytes],
  [
    'path',
    async (bytes) => {
      const file = path.join(dir, `input-${Math.random().toString(36).slice(2)}`);
      await writeFile(file, bytes);
      return file;
    },
  ],
  ['stream', async (bytes) => Readable.from([bytes.subarray(0, 7), bytes.subarray(7)])],
];

function isBadInput(pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BadInputError, `expected BadInputError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_SLABIO_BAD_INPUT');
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('corrupt, truncated, zero-byte and non-image input: ERR_SLABIO_BAD_INPUT, nothing leased', () => {
  const cases: [string, () => Buffer, boolean][] = [
    // [name, bytes, sharp raised an error we carry as the cause]. Input in no format slabio
    // recognises is refused before sharp sees it, so it has no cause.
    ['zero bytes', () => Buffer.alloc(0), true],
    ['truncated JPEG (first half)', () => jpeg.subarray(0, jpeg.length >> 1), true],
    ['truncated PNG (first half)', () => png.subarray(0, png.length >> 1), true],
    [
      'JPEG with a corrupt header (Huffman tables overwritten)',
      () => corrupt(jpeg, 150, 600),
      true,
    ],
    ['PNG with a corrupt IDAT', () => corrupt(png, 200, 2000), true],
    ['a text file', () => Buffer.from('this is not an image\n'.repeat(20)), false],
    [
      'random bytes',
      () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)),
      false,
    ],
  ];
  for (const [entryName, entry] of entries) {
    for (const [deliveryName, deliver] of deliveries) {
      for (const [name, bytes, hasCause] of cases) {
        it(`${entryName}, ${deliveryName}: ${name}`, async () => {
          const input = await deliver(bytes());
          await assert.rejects(entry(input, { pool }), (err: unknown) => {
            isBadInput()(err);
            if (hasCause) assert.ok((err as Error).cause instanceof Error, 'sharp error as cause');
            return true;
          });
          assert.equal(inUse(), 0);
        });
      }
    }
  }
});

function corrupt(bytes: Buffer, from: number, to: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0x55, from, to);
  return copy;
}

describe('decompression bombs are refused from the header, before decoding', () => {
  it('the bomb fixture is a well-formed PNG (valid CRCs) whose header sharp reads', async () => {
    const bomb = pngHeaderOnly(50_000, 50_000);
    assert.ok(isWellFormedPng(bomb));
    assert.ok(bomb.length < 2048);
    const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [50_000, 50_000, 'png']);
  });

  for (const [entryName, entry] of entries) {
    it(`${entryName}: 50000×50000 PNG`, async () => {
      await assert.rejects(
        entry(pngHeaderOnly(50_000, 50_000), { pool }),
        isBadInput(/pixel limit|limitInputPixels/),
      );
      assert.equal(inUse(), 0);
    });

    it(`${entryName}: 10000×10000 (under sharp's own default, over slabio's 50 MP)`, async () => {
      assert.ok(10_000 * 10_000 > DEFAULT_LIMIT_INPUT_PIXELS);
      await assert.rejects(
        entry(pngHeaderOnly(10_000, 10_000), { pool }),
        isBadInput(/pixel limit|limitInputPixels/),
      );
      assert.equal(inUse(), 0);
    });

    it(`${entryName}: exactly at limitInputPixels decodes, one pixel over is refused`, async () => {
      const exact = await sharp({
        create: { width: 100, height: 50, channels: 3, background: '#123' },
      })
        .png()
        .toBuffer();
      const ok = (await entry(exact, { pool, limitInputPixels: 5000 })) as Disposable;
      ok[Symbol.dispose]();
      await assert.rejects(
        entry(exact, { pool, limitInputPixels: 4999 }),
        isBadInput(/pixel limit|limitInputPixels/),
      );
      assert.equal(inUse(), 0);
    });
  }

  it('with a raised limit the bomb gets past the header check and fails on its missing data', async () => {
    await assert.rejects(
      transformImage(pngHeaderOnly(10_000, 10_000), (img) => img.resize(10), {
        pool,
        limitInputPixels: 200_000_000,
      }),
      (err: unknown) => {
        isBadInput()(err);
        assert.doesNotMatch((err as Error).message, /pixel limit/);
        return true;
      },
    );
    assert.equal(inUse(), 0);
  });
});

describe('byte limits', () => {
  for (const [entryName, entry] of entries) {
    it(`${entryName}: maxInputBytes exactly the input passes, one less is ERR_SLABIO_LIMIT`, async () => {
      const ok = (await entry(jpeg, { pool, maxInputBytes: jpeg.length })) as Disposable;
      ok[Symbol.dispose]();
      for (const input of [() => jpeg, () => Readable.from([jpeg])]) {
        await assert.rejects(
          entry(input(), { pool, maxInputBytes: jpeg.length - 1 }),
          (err: unknown) =>
            err instanceof LimitExceededError &&
            err.code === 'ERR_SLABIO_LIMIT' &&
            err.limit === jpeg.length - 1,
        );
      }
      assert.equal(inUse(), 0);
    });
  }

  it('transformImage: maxOutputBytes exactly the output passes, one less is ERR_SLABIO_LIMIT', async () => {
    const build = (img: Sharp) => img.resize(100).png();
    const lease = await transformImage(jpeg, build, { pool });
    const size = lease.buffer.length;
    lease.release();
    (await transformImage(jpeg, build, { pool, maxOutputBytes: size })).release();
    await assert.rejects(
      transformImage(jpeg, build, { pool, maxOutputBytes: size - 1 }),
      (err: unknown) => err instanceof LimitExceededError && err.bytesRead === size,
    );
    assert.equal(inUse(), 0);
  });

  it('decodeRaw: maxOutputBytes is checked against the header, before decoding', async () => {
    const size = 320 * 240 * 3;
    const image = await decodeRaw(jpeg, { pool, maxOutputBytes: size });
    assert.equal(image.lease.buffer.length, size);
    image[Symbol.dispose]();
    await assert.rejects(
      decodeRaw(jpeg, { pool, maxOutputBytes: size - 1 }),
      (err: unknown) => err instanceof LimitExceededError && err.bytesRead === size,
    );
    assert.equal(inUse(), 0);
  });

  it('decodeRaw: pixels larger than a throwing pool budget fail before decoding, nothing leased', async () => {
    const small = new BufferPool({
      maxBytes: 64 << 10,
      sizeClasses: [64 << 10],
      onExhausted: 'throw',
    });
    await assert.rejects(decodeRaw(jpeg, { pool: small }), PoolExhaustedError);
    assert.equal(small.stats().inUseBytes, 0);
    small.close();
  });
});

describe('abort', () => {
  for (const [entryName, entry] of entries) {
    it(`${entryName}: an aborted signal rejects with its reason before anything is read`, async () => {
      const reason = new Error('stop');
      const stream = Readable.from([jpeg]);
      await assert.rejects(
        entry(stream, { pool, signal: AbortSignal.abort(reason) }),
        (err) => err === reason,
      );
      assert.equal(inUse(), 0);
    });

    it(`${entryName}: abort while reading a stream input rejects with the reason`, async () => {
      const controller = new AbortController();
      const reason = new Error('client went away');
      async function* slow() {
        yield jpeg.subarray(0, 100);
        controller.abort(reason);
        await new Promise((r) => setTimeout(r, 50));
        yield jpeg.subarray(100);
      }
      await assert.rejects(
        entry(slow(), { pool, signal: controller.signal }),
        (err) => err === reason,
      );
      assert.equal(inUse(), 0);
    });

    it(`${entryName}: abort during processing rejects once libvips lets go; the caller's lease is intact`, async () => {
      const big = await photo(2000, 1500, 'jpeg');
      const input = pool.acquire(big.length);
      big.copy(input.buffer);
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = entry(input, { pool, signal: controller.signal });
      // sharp emits 'change' on its queue when the pipeline's libvips job is queued: the abort
      // lands while libvips is certainly still working on (and reading) the input.
      sharp.queue.once('change', () => controller.abort(reason));
      await assert.rejects(pending, (err) => err === reason);
      assert.equal(input.released, false);
      assert.ok(input.buffer.equals(big));
      input.release();
      assert.equal(inUse(), 0);
    });
  }
});

describe('caller mistakes', () => {
  it('bad arguments are TypeError/RangeError naming the option', async () => {
    const cases: [() => Promise<unknown>, RegExp, ErrorConstructor][] = [
      [() => transformImage(jpeg, 'resize' as never), /build must be a function/, TypeError],
      [
        () => transformImage(jpeg, (i) => i, { limitInputPixels: -1 }),
        /options\.limitInputPixels.*-1/,
        RangeError,
      ],
      [
        () => transformImage(jpeg, (i) => i, { limitInputPixels: 'x' as never }),
        /options\.limitInputPixels/,
        TypeError,
      ],
      [
        () => transformImage(jpeg, (i) => i, { maxOutputBytes: 1.5 }),
        /options\.maxOutputBytes.*1\.5/,
        RangeError,
      ],
      [
        () => transformImage(jpeg, (i) => i, { maxInputBytes: '1' as never }),
        /options\.maxInputBytes/,
        TypeError,
      ],
      [() => transformImage(jpeg, (i) => i, { pool: {} as never }), /options\.pool/, TypeError],
      [
        () => transformImage(jpeg, (i) => i, { signal: 'x' as never }),
        /options\.signal/,
        TypeError,
      ],
      [
        () => transformImage(jpeg, (i) => i, { sharpOptions: { limitInputPixels: 1 } as never }),
        /sharpOptions\.limitInputPixels.*options\.limitInputPixels/,
        TypeError,
      ],
      [
        () => transformImage(42 as never, (i) => i, { pool }),
        /input must be .* got number/,
        TypeError,
      ],
      [
        () => decodeRaw(jpeg, { build: 1 as never }),
        /options\.build must be a function/,
        TypeError,
      ],
      [() => transformImage(jpeg, () => ({}) as never, { pool }), /build must return/, TypeError],
    ];
    for (const [call, message, type] of cases) {
      await assert.rejects(
        call(),
        (err: unknown) => err instanceof type && message.test((err as Error).message),
      );
    }
    assert.equal(inUse(), 0);
  });

  it('an error thrown by build passes through unchanged and the input lease slabio read is released', async () => {
    const mine = new Error('my pipeline is wrong');
    await assert.rejects(
      transformImage(Readable.from([jpeg]), () => {
        throw mine;
      }),
      (err) => err === mine,
    );
    // sharp's own argument validation inside build is a caller mistake too, not bad input.
    await assert.rejects(
      transformImage(createReadStream(await writeTemp(jpeg)), (img) => img.resize(-5), { pool }),
      (err: unknown) =>
        err instanceof Error && !(err instanceof BadInputError) && /width/i.test(err.message),
    );
    assert.equal(inUse(), 0);
  });

  it('a released lease as input is ERR_SLABIO_RELEASED', async () => {
    const lease = pool.acquire(jpeg.length);
    lease.release();
    await assert.rejects(
      transformImage(lease, (i) => i, { pool }),
      UseAfterReleaseError,
    );
  });

  it('output still decodes after many failures (no state left behind)', async () => {
    const out = await transformImage(png, (img) => img.resize(8).png(), { pool });
    assert.equal(pngjsDecode(out.buffer).width, 8);
    out.release();
    assert.equal(inUse(), 0);
  });
});

async function writeTemp(bytes: Buffer): Promise<string> {
  const file = path.join(dir, `tmp-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, bytes);
  return file;
}
