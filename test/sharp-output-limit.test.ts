import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sharp } from 'sharp';
import { BufferPool, LimitExceededError } from 'slabio';
import { type BuildPipeline, decodeRaw, transformImage } from 'slabio/sharp';
import { photo } from './sharp-helpers.js';

const pool = new BufferPool({ maxBytes: 128 << 20, idleTrimMs: 0 });
let jpeg: Buffer;

before(async () => {
  jpeg = await photo(120, 80, 'jpeg');
});

/** `build` plus a count of the renders sharp ran for it (calls of the instance's `toBuffer`). */
function counted(build: (img: Sharp) => Sharp): { build: BuildPipeline; renders: () => number } {
  let renders = 0;
  return {
    build: (img) => {
      const built = build(img);
      const toBuffer = built.toBuffer.bind(built) as (...args: unknown[]) => unknown;
      Object.defineProperty(built, 'toBuffer', {
        value: (...args: unknown[]) => {
          renders++;
          return toBuffer(...args);
        },
      });
      return built;
    },
    renders: () => renders,
  };
}

function isLimit(limit: number, declared: number) {
  return (err: unknown) =>
    err instanceof LimitExceededError && err.limit === limit && err.bytesRead === declared;
}

describe('image output limits, checked before libvips renders', () => {
  it('an upscale over limitOutputPixels is refused without rendering, nothing leased', async () => {
    const { build, renders } = counted((img) => img.resize(4000, 3000).png());
    await assert.rejects(
      transformImage(jpeg, build, { pool, limitOutputPixels: 1_000_000, maxOutputBytes: 1 << 20 }),
      isLimit(1_000_000, 12_000_000),
    );
    assert.equal(renders(), 0);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('limitOutputPixels defaults to limitInputPixels', async () => {
    const { build, renders } = counted((img) => img.resize(3000, 2000).png());
    await assert.rejects(
      transformImage(jpeg, build, { pool, limitInputPixels: 5_000_000 }),
      isLimit(5_000_000, 6_000_000),
    );
    // Over the default 50 MP: 8000 × 7000.
    const big = counted((img) => img.resize(8000, 7000).webp());
    await assert.rejects(
      transformImage(jpeg, big.build, { pool }),
      isLimit(50_000_000, 56_000_000),
    );
    assert.equal(renders() + big.renders(), 0);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('a raw upscale over maxOutputBytes is refused without rendering (transformImage, decodeRaw)', async () => {
    const limit = 1 << 20;
    const t = counted((img) => img.resize(3000, 3000).raw());
    await assert.rejects(
      transformImage(jpeg, t.build, { pool, maxOutputBytes: limit, limitOutputPixels: false }),
      (err: unknown) => err instanceof LimitExceededError && err.limit === limit,
    );
    const d = counted((img) => img.resize(3000, 3000));
    await assert.rejects(
      decodeRaw(jpeg, { pool, build: d.build, maxOutputBytes: limit, limitOutputPixels: false }),
      (err: unknown) => err instanceof LimitExceededError && err.limit === limit,
    );
    assert.equal(t.renders() + d.renders(), 0);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('exactly the output pixels pass, one fewer is refused', async () => {
    const builds: [string, (img: Sharp) => Sharp][] = [
      ['resize cover', (img) => img.resize(400, 300).png()],
      ['resize width only', (img) => img.resize(500).png()],
      ['resize inside', (img) => img.resize(500, 500, { fit: 'inside' }).png()],
      ['resize outside', (img) => img.resize(500, 500, { fit: 'outside' }).png()],
      ['resize contain', (img) => img.resize(500, 200, { fit: 'contain' }).png()],
      ['extend', (img) => img.resize(300).extend({ top: 7, bottom: 9, left: 500, right: 1 }).png()],
      [
        'extract after resize',
        (img) => img.resize(600).extract({ left: 1, top: 2, width: 333, height: 222 }).png(),
      ],
    ];
    for (const [name, b] of builds) {
      const out = await transformImage(jpeg, b, { pool, limitOutputPixels: false });
      const pixels = out.info.width * out.info.height;
      out.release();
      (await transformImage(jpeg, b, { pool, limitOutputPixels: pixels })).release();
      const { build, renders } = counted(b);
      await assert.rejects(
        transformImage(jpeg, build, { pool, limitOutputPixels: pixels - 1 }),
        isLimit(pixels - 1, pixels),
        name,
      );
      assert.equal(renders(), 0, `${name}: refused before rendering`);
    }
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('growth by any angle, affine and multi-page input is never under-estimated', async () => {
    const gif = await transformImage(await photo(60, 40, 'png'), (img) => img.gif(), { pool });
    const animated = Buffer.from(gif.buffer);
    gif.release();
    const cases: [string, Buffer, (img: Sharp) => Sharp][] = [
      ['rotate 90', jpeg, (img) => img.resize(400, 100).rotate(90).png()],
      ['rotate 30', jpeg, (img) => img.resize(500).rotate(30).png()],
      ['affine', jpeg, (img) => img.affine([3, 1, 0.5, 2.5]).png()],
      [
        'rotate before resize',
        jpeg,
        (img) => img.rotate(45).resize(300, 300, { fit: 'outside' }).png(),
      ],
      ['pages', animated, (img) => img.resize(90).extend({ bottom: 20 }).png()],
    ];
    for (const [name, input, b] of cases) {
      const out = await transformImage(input, b, { pool, limitOutputPixels: false });
      const pixels = out.info.width * out.info.height;
      out.release();
      const { build, renders } = counted(b);
      await assert.rejects(
        transformImage(input, build, { pool, limitOutputPixels: pixels - 1 }),
        (err: unknown) => err instanceof LimitExceededError,
        name,
      );
      assert.equal(renders(), 0, `${name}: refused before rendering`);
    }
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('an encoded output within limitOutputPixels but over maxOutputBytes is refused after encoding', async () => {
    await assert.rejects(
      transformImage(jpeg, (img) => img.resize(600, 400).png(), { pool, maxOutputBytes: 1000 }),
      (err: unknown) => err instanceof LimitExceededError && err.limit === 1000,
    );
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('limitOutputPixels is validated', async () => {
    for (const bad of [0, -1, 1.5, 'x', true]) {
      await assert.rejects(
        transformImage(jpeg, (i) => i, { limitOutputPixels: bad as number }),
        /options\.limitOutputPixels/,
      );
    }
  });
});
