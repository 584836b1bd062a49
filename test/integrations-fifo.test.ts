/**
 * `extractZip` and `transformImage` given a FIFO path: an abort settles while nothing has been
 * written, nothing is left behind, and what a writer sends is read (a zip spooled like a stream).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { BufferPool, LimitExceededError } from 'slabio';
import { transformImage } from 'slabio/sharp';
import { extractZip } from 'slabio/zip';
import { abortWhileWaiting, FifoLab, fifoSkipReason, openDescriptors } from './fifo-helpers.js';
import { within } from './helpers.js';
import { buildZip } from './zip-helpers.js';

const skip = fifoSkipReason();

function newPool(): BufferPool {
  return new BufferPool({ maxBytes: 64 << 20, idleTrimMs: 0 });
}

/** What is in the lab directory besides its FIFOs (spool files, destinations). */
function leftovers(lab: FifoLab): string[] {
  return readdirSync(lab.dir).filter((name) => !name.startsWith('fifo-'));
}

describe('extractZip from a FIFO path', { skip: skip ?? false }, () => {
  it('settles on abort while no writer has opened the FIFO, leaving nothing', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const dest = path.join(lab.dir, 'out');
    await abortWhileWaiting(t, lab, file, (signal) => extractZip(file, dest, { signal }));
    assert.deepEqual(leftovers(lab), [], 'no spool file, no destination');
  });

  it('extracts what a writer sends, spooled like a stream, without a signal', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const dest = path.join(lab.dir, 'out');
    const data = Buffer.from('hello from a pipe\n'.repeat(500));
    const zip = buildZip([{ name: 'a.txt', data }]);
    const extracted = extractZip(file, dest);
    await lab.writeAndClose(file, zip);
    const outcome = await within(extracted, 5000);
    assert.ok(outcome !== 'pending' && 'value' in outcome, 'resolves');
    assert.equal(outcome.value.files, 1);
    assert.ok((await readFile(path.join(dest, 'a.txt'))).equals(data));
    assert.deepEqual(leftovers(lab), ['out'], 'the spool file is removed');
    assert.deepEqual(openDescriptors(file), []);
  });

  it('stops a FIFO past maxArchiveBytes and removes the spool file', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const dest = path.join(lab.dir, 'out');
    const extracted = extractZip(file, dest, { maxArchiveBytes: 1000 });
    const wrote = lab.writeAndClose(file, Buffer.alloc(64 * 1024));
    await assert.rejects(extracted, LimitExceededError);
    await wrote;
    assert.deepEqual(leftovers(lab), []);
    assert.deepEqual(openDescriptors(file), []);
  });
});

describe('transformImage from a FIFO path', { skip: skip ?? false }, () => {
  it('settles on abort while no writer has opened the FIFO', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const pool = newPool();
    await abortWhileWaiting(t, lab, file, (signal) =>
      transformImage(file, (img) => img.resize(8), { pool, signal }),
    );
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('reads the image a writer sends, without a signal', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const pool = newPool();
    const create = { width: 32, height: 16, channels: 3 as const, background: '#3a6' };
    const png = await sharp({ create }).png().toBuffer();
    const transformed = transformImage(file, (img) => img.resize(8).png(), { pool });
    await lab.writeAndClose(file, png);
    const outcome = await within(transformed, 5000);
    assert.ok(outcome !== 'pending' && 'value' in outcome, 'resolves');
    using out = outcome.value;
    const meta = await sharp(out.buffer).metadata();
    assert.equal(meta.width, 8);
    assert.equal(meta.height, 4);
    assert.ok(!existsSync(path.join(lab.dir, 'out')));
    assert.deepEqual(openDescriptors(file), []);
  });
});
