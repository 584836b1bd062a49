/**
 * Reads of FIFOs and character devices: an abort settles while the read waits in the kernel,
 * and gives back the lease and the descriptor; a FIFO that ends settles without a signal; a
 * waiting read does not hold a libuv thread-pool thread.
 */
import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  type BufferPool,
  decompress,
  LimitExceededError,
  pump,
  readAll,
  readAllChunks,
  readChunks,
  readFileNoCache,
  readFilePooled,
  UnsupportedError,
  writeFileNoCache,
} from '../src/index.js';
import {
  abortAndTime,
  abortWhileWaiting,
  assertRejectedWith,
  FifoLab,
  fifoSkipReason,
  openDescriptors,
} from './fifo-helpers.js';
import { KiB, seededBytes, within } from './helpers.js';
import { assertNoLeases, newPool } from './read-all-helpers.js';

const skip = fifoSkipReason();

type Options = { pool: BufferPool; signal?: AbortSignal };

/** Every public call that reads a path, with what to write so that it returns `payload`. */
const readers: {
  name: string;
  read(file: string, options: Options): Promise<Buffer>;
  encode(payload: Buffer): Buffer;
}[] = [
  {
    name: 'readFilePooled',
    read: async (file, o) => copyOut(await readFilePooled(file, o)),
    encode: (p) => p,
  },
  { name: 'readAll', read: async (file, o) => copyOut(await readAll(file, o)), encode: (p) => p },
  {
    name: 'readAllChunks',
    read: async (file, o) => {
      using list = await readAllChunks(file, o);
      return Buffer.concat(list.chunks);
    },
    encode: (p) => p,
  },
  {
    name: 'readFileNoCache',
    read: async (file, o) => copyOut(await readFileNoCache(file, o)),
    encode: (p) => p,
  },
  {
    name: 'decompress',
    read: async (file, o) => copyOut(await decompress(file, { format: 'gzip', ...o })),
    encode: (p) => gzipSync(p),
  },
];

function copyOut(lease: { buffer: Buffer; release(): void }): Buffer {
  const copy = Buffer.from(lease.buffer);
  lease.release();
  return copy;
}

describe('reading a FIFO', { skip: skip ?? false }, () => {
  for (const r of readers) {
    describe(r.name, () => {
      it('settles on abort while no writer has opened the FIFO', async (t) => {
        const lab = new FifoLab(t);
        const file = lab.fifo();
        const pool = newPool();
        await abortWhileWaiting(t, lab, file, (signal) => r.read(file, { pool, signal }), {
          pool,
          leasesNothing: true,
        });
      });

      it('settles on abort while a writer holds the FIFO open and writes nothing', async (t) => {
        const lab = new FifoLab(t);
        const file = lab.fifo();
        const pool = newPool();
        await abortWhileWaiting(t, lab, file, (signal) => r.read(file, { pool, signal }), {
          pool,
          withWriter: true,
          leasesNothing: true,
        });
      });

      it('returns what a writer wrote once it closes, without a signal', async (t) => {
        const lab = new FifoLab(t);
        const file = lab.fifo();
        const pool = newPool();
        const payload = seededBytes(300 * KiB + 7);
        const read = r.read(file, { pool });
        await lab.writeAndClose(file, r.encode(payload));
        const outcome = await within(read, 5000);
        assert.ok(outcome !== 'pending' && 'value' in outcome, 'resolves');
        assert.ok(outcome.value.equals(payload));
        assertNoLeases(pool);
        assert.deepEqual(openDescriptors(file), []);
      });

      it('returns an empty result when a writer opens and closes without writing', async (t) => {
        const lab = new FifoLab(t);
        const file = lab.fifo();
        const pool = newPool();
        const read = r.read(file, { pool });
        await lab.writeAndClose(file, r.encode(Buffer.alloc(0)));
        const outcome = await within(read, 5000);
        assert.ok(outcome !== 'pending' && 'value' in outcome, 'resolves');
        assert.equal(outcome.value.length, 0);
        assertNoLeases(pool);
      });
    });
  }

  it('stops at maxBytes and closes the FIFO while the writer still writes', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const pool = newPool();
    const read = readAll(file, { pool, maxBytes: 100 * KiB });
    const wrote = lab.writeAndClose(file, seededBytes(1024 * KiB));
    await assert.rejects(read, LimitExceededError);
    await wrote; // the writer gets EPIPE once the reader is gone
    assertNoLeases(pool);
    assert.deepEqual(openDescriptors(file), []);
  });

  it('pump and readChunks settle on abort while the FIFO is silent', async (t) => {
    const lab = new FifoLab(t);
    const pool = newPool();
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    const a = lab.fifo();
    await abortWhileWaiting(t, lab, a, (signal) => pump(a, sink, { pool, signal }), {
      pool,
      withWriter: true,
      leasesNothing: false, // the ring and the chunk block are leased up front by design
    });
    const b = lab.fifo();
    const scan = async (signal: AbortSignal): Promise<void> => {
      for await (const chunk of readChunks(b, { pool, signal })) void chunk;
    };
    await abortWhileWaiting(t, lab, b, scan, { pool });
  });

  it("settles on abort on a caller's FileHandle, which stays open", async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    const pool = newPool();
    const writer = lab.writerProcess(file);
    const handle = await open(file, 'r'); // returns once the writer has opened its end
    t.after(() => handle.close());
    const controller = new AbortController();
    const pending = readFilePooled(handle, { pool, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { outcome, ms } = await abortAndTime(controller, pending);
    t.diagnostic(`abort to settle: ${ms.toFixed(2)} ms`);
    assertRejectedWith(outcome, controller.signal.reason);
    assertNoLeases(pool);
    assert.deepEqual(openDescriptors(file), [handle.fd], 'only the caller handle is open');
    // The read slabio gave up on still waits in the kernel; the writer's close ends it.
    writer.release();
    await writer.exited;
  });

  it('waiting reads hold no thread-pool thread: fs work goes on beside 8 of them', async (t) => {
    const lab = new FifoLab(t);
    const pool = newPool();
    const controller = new AbortController();
    const small = path.join(lab.dir, 'small.txt');
    await writeFile(small, 'still served');
    const files = Array.from({ length: 8 }, () => lab.fifo());
    const reads = files.map((f) => readAll(f, { pool, signal: controller.signal }));
    for (const read of reads) read.catch(() => {});
    const outcome = await within(readFile(small, 'utf8'), 5000);
    const { ms } = await abortAndTime(controller, Promise.allSettled(reads));
    t.diagnostic(`8 reads, abort to all settled: ${ms.toFixed(2)} ms`);
    assert.deepEqual(outcome, { value: 'still served' }, 'readFile completes');
    for (const read of reads) await assert.rejects(read, (err) => err === controller.signal.reason);
    assertNoLeases(pool);
    for (const f of files) assert.deepEqual(openDescriptors(f), []);
  });
});

describe('reading a character device', { skip: skip ?? false }, () => {
  it('reads /dev/null as empty and stops /dev/zero at maxBytes', async () => {
    const pool = newPool();
    using empty = await readAll('/dev/null', { pool });
    assert.equal(empty.buffer.length, 0);
    await assert.rejects(readAll('/dev/zero', { pool, maxBytes: 100 * KiB }), LimitExceededError);
  });

  it('settles on abort while a terminal has no input', async (t) => {
    const lab = new FifoLab(t);
    const tty = await lab.terminal();
    if (tty === null) return t.skip('needs python3 to open a pseudo-terminal');
    const pool = newPool();
    const controller = new AbortController();
    const pending = readAll(tty, { pool, signal: controller.signal });
    pending.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { outcome, ms } = await abortAndTime(controller, pending);
    t.diagnostic(`abort to settle: ${ms.toFixed(2)} ms`);
    assertRejectedWith(outcome, controller.signal.reason);
    assertNoLeases(pool);
    assert.deepEqual(openDescriptors(tty), []);
  });
});

describe('writing to a FIFO path', { skip: skip ?? false }, () => {
  it('writeFileNoCache in place: ENXIO at once without a reader, refused with one', async (t) => {
    const lab = new FifoLab(t);
    const file = lab.fifo();
    // Without O_NONBLOCK the open waited in a thread-pool thread until a reader came: forever.
    const alone = await within(writeFileNoCache(file, Buffer.from('x')), 3000);
    if (alone === 'pending') {
      // Let the stuck open through, so a regressed build fails here instead of hanging.
      const wake = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      await wake.close();
    }
    assert.ok(alone !== 'pending', 'settled without a reader');
    assert.equal(
      ('error' in alone && (alone.error as NodeJS.ErrnoException).code) || null,
      'ENXIO',
    );
    const reader = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const withReader = await within(writeFileNoCache(file, Buffer.from('x')), 3000);
      assert.ok(withReader !== 'pending' && 'error' in withReader);
      assert.ok(withReader.error instanceof UnsupportedError);
      assert.deepEqual(openDescriptors(file, [reader.fd]), []);
    } finally {
      await reader.close();
    }
  });
});
