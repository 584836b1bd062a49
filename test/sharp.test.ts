import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { BufferPool, type Lease } from 'slabio';
import { decodeRaw, type ImageInput, transformImage } from 'slabio/sharp';
import { fileTempDir } from './helpers.js';
import { photo, pngjsDecode, pngjsEncode, rawPixels } from './sharp-helpers.js';

const pool = new BufferPool({ maxBytes: 128 << 20, idleTrimMs: 0 });

function inUse(): number {
  return pool.stats().inUseBytes;
}

/** Copy a lease out and release it, so assertions look at bytes and the pool is clean. */
function take(lease: Lease): Buffer {
  try {
    return Buffer.from(lease.buffer);
  } finally {
    lease.release();
  }
}

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const dir = fileTempDir();
let jpeg: Buffer;
let jpegPath: string;

before(async () => {
  jpeg = await photo(640, 480, 'jpeg');
  jpegPath = path.join(dir, 'photo.jpg');
  await writeFile(jpegPath, jpeg);
});

describe('transformImage: every input kind', () => {
  const kinds: [string, () => ImageInput | Promise<ImageInput>][] = [
    ['Buffer', () => jpeg],
    ['Uint8Array', () => new Uint8Array(jpeg)],
    ['path', () => jpegPath],
    ['file URL', () => pathToFileURL(jpegPath)],
    ['fs.ReadStream', () => createReadStream(jpegPath, { highWaterMark: 4096 })],
    ['async iterable of small chunks', () => Readable.from(split(jpeg, 1000))],
    ['web ReadableStream', () => Readable.toWeb(Readable.from(split(jpeg, 8192)))],
  ];
  for (const [name, make] of kinds) {
    it(name, async () => {
      const out = take(
        await transformImage(await make(), (img) => img.resize(200).jpeg(), { pool }),
      );
      assert.deepEqual(out.subarray(0, 3), JPEG_MAGIC);
      const meta = await sharp(out).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 200);
      assert.equal(meta.height, 150);
      assert.equal(inUse(), 0);
    });
  }

  it('a lease input is read in place and left to the caller', async () => {
    const input = pool.acquire(jpeg.length);
    jpeg.copy(input.buffer);
    const out = take(await transformImage(input, (img) => img.resize(64).png(), { pool }));
    assert.equal(input.released, false);
    assert.equal(inUse(), input.capacity);
    input.release();
    assert.equal(inUse(), 0);
    assert.deepEqual(out.subarray(0, 8), PNG_MAGIC);
    assert.equal(pngjsDecode(out).width, 64);
  });

  it('without a format call the output keeps the input format; build may return nothing', async () => {
    const out = take(
      await transformImage(
        jpeg,
        (img) => {
          img.resize(32, 32);
          return undefined;
        },
        { pool },
      ),
    );
    assert.deepEqual(out.subarray(0, 3), JPEG_MAGIC);
    assert.equal((await sharp(out).metadata()).width, 32);
  });

  it('an async build is awaited', async () => {
    const out = take(
      await transformImage(
        jpeg,
        async (img) => {
          await new Promise((r) => setImmediate(r));
          return img.resize(10).webp();
        },
        { pool },
      ),
    );
    assert.equal(out.toString('latin1', 8, 12), 'WEBP');
  });
});

function greyAlphaToRgba(pixels: Buffer): Buffer {
  const out = Buffer.alloc(pixels.length * 2);
  for (let p = 0; p < pixels.length / 2; p++) {
    const v = pixels[2 * p] as number;
    out.set([v, v, v, pixels[2 * p + 1] as number], 4 * p);
  }
  return out;
}

function split(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return parts;
}

describe('output checked with an independent decoder (pngjs)', () => {
  for (const channels of [1, 2, 3, 4] as const) {
    it(`raw → PNG via transformImage is pixel-exact, ${channels} channel(s)`, async () => {
      const [w, h] = [37, 23];
      const pixels = rawPixels(w, h, channels);
      const out = take(
        await transformImage(pixels, (img) => img.png(), {
          pool,
          sharpOptions: { raw: { width: w, height: h, channels } },
        }),
      );
      const { width, height, rgba } = pngjsDecode(out);
      assert.deepEqual([width, height], [w, h]);
      for (let p = 0; p < w * h; p++) {
        const src = pixels.subarray(p * channels, (p + 1) * channels);
        const grey = channels <= 2;
        const expected = [
          src[0],
          grey ? src[0] : src[1],
          grey ? src[0] : src[2],
          channels % 2 === 0 ? src[channels - 1] : 255,
        ];
        assert.deepEqual([...rgba.subarray(p * 4, p * 4 + 4)], expected, `pixel ${p}`);
      }
    });

    it(`pngjs PNG → decodeRaw is pixel-exact, ${channels} channel(s)`, async () => {
      const [w, h] = [41, 19];
      const pixels = rawPixels(w, h, channels);
      using image = await decodeRaw(pngjsEncode(pixels, w, h, channels), { pool });
      // Plain grey stays one channel; grey + alpha comes out as RGBA with R = G = B.
      const expected = channels === 2 ? greyAlphaToRgba(pixels) : pixels;
      const outChannels = channels === 2 ? 4 : channels;
      assert.deepEqual([image.width, image.height, image.channels], [w, h, outChannels]);
      assert.equal(image.lease.buffer.length, w * h * outChannels);
      assert.ok(image.lease.buffer.equals(expected));
      assert.equal(inUse(), image.lease.capacity);
    });
  }

  it('PNG with alpha stays transparent through a resize', async () => {
    const png = await sharp({
      create: {
        width: 100,
        height: 80,
        channels: 4,
        background: { r: 10, g: 200, b: 30, alpha: 0 },
      },
    })
      .png()
      .toBuffer();
    const out = take(await transformImage(png, (img) => img.resize(50).png(), { pool }));
    const { width, height, rgba } = pngjsDecode(out);
    assert.deepEqual([width, height], [50, 40]);
    for (let i = 3; i < rgba.length; i += 4) assert.equal(rgba[i], 0);
  });
});

describe('decodeRaw', () => {
  it('JPEG: 3 channels, width × height × 3 bytes, same pixels as sharp', async () => {
    using image = await decodeRaw(jpeg, { pool });
    assert.deepEqual([image.width, image.height, image.channels], [640, 480, 3]);
    const reference = await sharp(jpeg).raw().toBuffer();
    assert.ok(image.lease.buffer.equals(reference));
    assert.equal(inUse(), image.lease.capacity);
  });

  it('WebP with alpha: 4 channels', async () => {
    const webp = await sharp({
      create: {
        width: 120,
        height: 90,
        channels: 4,
        background: { r: 9, g: 99, b: 199, alpha: 0.5 },
      },
    })
      .webp({ lossless: true })
      .toBuffer();
    using image = await decodeRaw(webp, { pool });
    assert.deepEqual([image.width, image.height, image.channels], [120, 90, 4]);
    assert.equal(image.lease.buffer.length, 120 * 90 * 4);
    assert.deepEqual([...image.lease.buffer.subarray(0, 4)], [9, 99, 199, 128]);
  });

  it('CMYK JPEG comes out as 3-channel sRGB (header said 4)', async () => {
    const cmyk = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#08f' } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    assert.equal((await sharp(cmyk).metadata()).channels, 4);
    using image = await decodeRaw(cmyk, { pool });
    assert.equal(image.channels, 3);
    assert.equal(image.lease.buffer.length, 30 * 20 * 3);
  });

  it('build runs before the raw output', async () => {
    using image = await decodeRaw(jpeg, {
      pool,
      build: (img) => img.resize(16, 8, { fit: 'fill' }).ensureAlpha(),
    });
    assert.deepEqual([image.width, image.height, image.channels], [16, 8, 4]);
    assert.equal(image.lease.buffer.length, 16 * 8 * 4);
  });

  it('dispose releases the lease; disposing twice is harmless', async () => {
    const image = await decodeRaw(jpeg, { pool });
    image[Symbol.dispose]();
    image[Symbol.dispose]();
    assert.equal(image.lease.released, true);
    assert.equal(inUse(), 0);
  });

  it('a large image (12 MP JPEG) decodes into one pooled lease', async () => {
    const big = await photo(4000, 3000, 'jpeg');
    using image = await decodeRaw(big, { pool });
    assert.equal(image.lease.buffer.length, 4000 * 3000 * 3);
    const thumb = take(await transformImage(big, (img) => img.resize(400).jpeg(), { pool }));
    assert.equal((await sharp(thumb).metadata()).height, 300);
  });
});

describe('pool use', () => {
  it('many images at once through a small waiting pool all complete, nothing left leased', async () => {
    const small = new BufferPool({
      maxBytes: 4 << 20,
      sizeClasses: [64 << 10, 1 << 20],
      idleTrimMs: 0,
    });
    const results = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        using image = await decodeRaw(jpeg, { pool: small, build: (img) => img.resize(100 + i) });
        return image.width;
      }),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 24 }, (_, i) => 100 + i),
    );
    assert.equal(small.stats().inUseBytes, 0);
    assert.ok(small.stats().reservedBytes <= 4 << 20);
    small.close();
  });
});
