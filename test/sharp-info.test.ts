// transformImage hands back sharp's output info on the lease, as resolveWithObject would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { BufferPool, type Lease, writeFileNoCache } from 'slabio';
import { type ImageLease, transformImage } from 'slabio/sharp';
import { tempDir } from './helpers.js';
import { photo } from './sharp-helpers.js';

test('the lease carries width, height, format, channels and size of the output', async (t) => {
  const pool = new BufferPool({ name: 'sharp-info' });
  t.after(() => pool.close());
  const input = await photo(640, 480, 'jpeg');
  const out: ImageLease = await transformImage(input, (img) => img.resize(320).webp(), { pool });
  const expected = await sharp(input).resize(320).webp().toBuffer({ resolveWithObject: true });
  assert.deepEqual(out.info, expected.info);
  assert.equal(out.info.format, 'webp');
  assert.equal(out.info.width, 320);
  assert.equal(out.info.height, 240);
  assert.equal(out.info.channels, 3);
  assert.equal(out.info.size, out.buffer.length);
  const meta = await sharp(out.buffer).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [320, 240, 'webp']);

  // Still a lease wherever one is taken: typed as one, and released by writeFileNoCache.
  const lease: Lease = out;
  const dir = await tempDir(t);
  await writeFileNoCache(`${dir}/thumb.webp`, lease);
  assert.equal(out.released, true);
  assert.equal(pool.stats().inUseBytes, 0);

  const png = await transformImage(
    input,
    (img) => img.extract({ left: 0, top: 0, width: 10, height: 7 }).png(),
    { pool },
  );
  assert.deepEqual([png.info.format, png.info.width, png.info.height], ['png', 10, 7]);
  png.release();
  assert.equal(pool.stats().inUseBytes, 0);
});
