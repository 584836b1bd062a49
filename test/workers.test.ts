import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { BufferPool, RenderWorkers, WorkerError } from '../src/index.js';
import { renderPdf, renderPdfInWorker } from '../src/integrations/pdfkit/index.js';
import { qrBatch, renderQr, renderQrInWorkers } from '../src/integrations/qrcode/index.js';
import { tempDir } from './helpers.js';
import { decodePng, readPng } from './qrcode-helpers.js';

const fixture = (name: string): URL => new URL(`./worker-fixtures/${name}.js`, import.meta.url);
const builds = fixture('builds');

function items(n: number, from = 0): { id: number; text: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    text: `https://example.com/t/${from + i}`,
  }));
}

function noLeaseInUse(pool: BufferPool): void {
  assert.equal(pool.stats().inUseBytes, 0, 'no lease in use');
}

async function rejectsWithWorkerError(p: Promise<unknown>, reason: string): Promise<WorkerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WorkerError, `expected WorkerError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_SLABIO_WORKER');
    assert.equal(err.reason, reason);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('RenderWorkers with qrBatch', () => {
  it('yields in input order the same bytes as renderQr, which jsQR decodes', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 2 });
    const list = items(300);
    let i = 0;
    for await (const { id, lease } of qrBatch(list, { workers, pool, chunkSize: 16, scale: 2 })) {
      assert.equal(id, i);
      assert.ok(lease.buffer.buffer instanceof SharedArrayBuffer);
      const single = renderQr(list[i]?.text as string, { scale: 2 });
      assert.ok(single.buffer.equals(lease.buffer), `code ${i} has the bytes of renderQr`);
      single.release();
      if (i % 50 === 0) {
        readPng(lease.buffer);
        assert.equal(decodePng(lease.buffer), list[i]?.text);
      }
      lease.release();
      i++;
    }
    assert.equal(i, 300);
    noLeaseInUse(pool);
    assert.ok(workers.stats().started <= 2);
  });

  it('svg and file output through workers match the main thread', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 1 });
    for await (const { id, lease } of qrBatch(items(5), { workers, pool, format: 'svg' })) {
      const single = renderQr(`https://example.com/t/${id}`, { format: 'svg' });
      assert.equal(lease.buffer.toString('latin1'), single.buffer.toString('latin1'));
      single.release();
      lease.release();
    }
    noLeaseInUse(pool);
  });

  it('with outDir, workers write the same files as the main thread and leave no lease in use', async (t) => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 2 });
    const dir = await tempDir(t);
    let n = 0;
    for await (const { id, path } of qrBatch(items(20), { workers, pool, outDir: dir })) {
      const single = renderQr(`https://example.com/t/${id}`);
      assert.ok(single.buffer.equals(await readFile(path)));
      single.release();
      n++;
    }
    assert.equal(n, 20);
    noLeaseInUse(pool);
  });

  it('a shared pool in debug mode poisons released blocks (shared memory cannot be detached)', () => {
    const pool = new BufferPool({ shared: true, debug: true });
    const lease = pool.acquire(64);
    const view = lease.buffer;
    assert.ok(view.buffer instanceof SharedArrayBuffer);
    view.fill(1);
    lease.release();
    assert.equal(view[0], 0xde);
    assert.throws(() => lease.buffer, { code: 'ERR_SLABIO_RELEASED' });
    pool.close();
  });

  it('refuses a pool that is not shared, naming the option', async () => {
    await using workers = new RenderWorkers({ max: 1 });
    assert.throws(() => qrBatch(items(1), { workers }), {
      name: 'TypeError',
      message: /options\.pool must be a BufferPool created with \{ shared: true \}/,
    });
    assert.throws(
      () =>
        qrBatch(items(1), { workers: {} as RenderWorkers, pool: new BufferPool({ shared: true }) }),
      {
        name: 'TypeError',
        message: /options\.workers must be a RenderWorkers/,
      },
    );
    assert.throws(() => new RenderWorkers({ max: 0 }), {
      name: 'RangeError',
      message: /options\.max/,
    });
  });

  it('a code that cannot be encoded fails as BadInputError after the codes before it; workers keep working', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 2 });
    const list = [...items(40), { id: 40, text: 'x'.repeat(5000) }, ...items(40, 41)];
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const { id, lease } of qrBatch(list, { workers, pool, chunkSize: 8 })) {
          seen.push(id);
          lease.release();
        }
      })(),
      {
        name: 'BadInputError',
        code: 'ERR_SLABIO_BAD_INPUT',
        message: /items\[40\]|cannot be encoded/,
      },
    );
    assert.deepEqual(
      seen,
      items(40).map((x) => x.id),
    );
    noLeaseInUse(pool);
    const [ok, bad] = await Promise.allSettled([
      renderQrInWorkers('fine', { workers, pool }),
      renderQrInWorkers('y'.repeat(5000), { workers, pool }),
    ]);
    assert.equal(ok.status, 'fulfilled');
    if (ok.status === 'fulfilled') {
      assert.equal(decodePng(ok.value.buffer), 'fine');
      ok.value.release();
    }
    assert.equal(bad.status, 'rejected');
    assert.equal((bad as PromiseRejectedResult).reason.code, 'ERR_SLABIO_BAD_INPUT');
    assert.equal(workers.stats().deaths, 0);
    noLeaseInUse(pool);
  });

  it('abort mid-batch rejects with the reason and leaves no lease in use', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 2 });
    const controller = new AbortController();
    const reason = new Error('stop');
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const { lease } of qrBatch(items(2000), {
          workers,
          pool,
          signal: controller.signal,
        })) {
          lease.release();
          if (++n === 100) controller.abort(reason);
        }
      })(),
      (err) => err === reason,
    );
    noLeaseInUse(pool);
  });

  it('close() mid-batch fails the batch with WorkerError closed, promptly, no lease in use', async () => {
    const pool = new BufferPool({ shared: true });
    const workers = new RenderWorkers({ max: 2 });
    let n = 0;
    const batch = (async () => {
      for await (const { lease } of qrBatch(items(5000), { workers, pool })) {
        lease.release();
        if (++n === 50) void workers.close();
      }
    })();
    await rejectsWithWorkerError(batch, 'closed');
    await workers.close();
    noLeaseInUse(pool);
    await rejectsWithWorkerError(renderQrInWorkers('late', { workers, pool }), 'closed');
    assert.equal(workers.stats().size, 0);
  });

  it('a pool with room for 4 codes serves chunks of 64 while the consumer holds a result', {
    timeout: 60_000,
  }, async () => {
    // Blocks are leased in input order and the ones leased are written and handed out before
    // the next has to wait, so no code waits for memory that an undeliverable code holds.
    const pool = new BufferPool({
      shared: true,
      sizeClasses: [1024],
      slabBytes: 1024,
      maxBytes: 4096,
      onExhausted: 'wait',
      waitTimeoutMs: 5000,
    });
    await using workers = new RenderWorkers({ max: 2 });
    let n = 0;
    let held: { release(): void } | undefined;
    for await (const { lease } of qrBatch(items(200), {
      workers,
      pool,
      chunkSize: 64,
      concurrency: 256,
    })) {
      held?.release();
      held = lease;
      n++;
    }
    held?.release();
    assert.equal(n, 200);
    noLeaseInUse(pool);
  });
});

describe('RenderWorkers faults', () => {
  it('every worker start failing rejects acquires with WorkerError start, and close settles', async () => {
    const pool = new BufferPool({ shared: true });
    const workers = new RenderWorkers({ max: 2, setup: fixture('setup-throws') });
    const err = await rejectsWithWorkerError(renderQrInWorkers('a', { workers, pool }), 'start');
    assert.match(String((err.cause as Error).message), /setup refused/);
    await rejectsWithWorkerError(
      (async () => {
        for await (const { lease } of qrBatch(items(100), { workers, pool })) lease.release();
      })(),
      'start',
    );
    // One start per waiting caller: no retry loop behind the rejections.
    const { startFailures, started } = workers.stats();
    assert.equal(started, 0);
    assert.ok(startFailures >= 2 && startFailures <= 8, `startFailures ${startFailures}`);
    await workers.close();
    noLeaseInUse(pool);
  });

  it('a worker that never reports ready fails its start after startTimeoutMs', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({
      max: 1,
      setup: fixture('setup-hangs'),
      startTimeoutMs: 200,
    });
    const err = await rejectsWithWorkerError(renderQrInWorkers('a', { workers, pool }), 'start');
    assert.match(err.message, /not ready after 200 ms/);
  });

  it('a build that throws fails that PDF with WorkerError task carrying its error; the worker stays', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 1 });
    const err = await rejectsWithWorkerError(
      renderPdfInWorker({ module: builds, export: 'broken' }, { workers, pool }),
      'task',
    );
    const cause = err.cause as Error & { code?: string };
    assert.equal(cause.name, 'RangeError');
    assert.equal(cause.message, 'no such seat');
    assert.equal(cause.code, 'E_SEAT');
    const lease = await renderPdfInWorker(
      { module: builds, export: 'ticket', data: { id: 7 } },
      { workers, pool },
    );
    assert.equal(lease.buffer.subarray(0, 5).toString('latin1'), '%PDF-');
    lease.release();
    assert.equal(workers.stats().started, 1);
    noLeaseInUse(pool);
  });

  it('a worker that exits mid-task fails it with WorkerError exit; the next task gets a new worker', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 1 });
    const err = await rejectsWithWorkerError(
      renderPdfInWorker({ module: builds, export: 'exits' }, { workers, pool }),
      'exit',
    );
    assert.equal(err.exitCode, 3);
    const lease = await renderQrInWorkers('after', { workers, pool });
    assert.equal(decodePng(lease.buffer), 'after');
    lease.release();
    assert.equal(workers.stats().started, 2);
    assert.equal(workers.stats().deaths, 1);
    noLeaseInUse(pool);
  });

  it('a stackSizeMb below 0.5, which would end the whole process, is refused up front', () => {
    assert.throws(
      () => new RenderWorkers({ resourceLimits: { stackSizeMb: 0.1 } }),
      (err: Error) =>
        err instanceof RangeError && /options\.resourceLimits\.stackSizeMb/.test(err.message),
    );
  });

  it('a worker killed by its resourceLimits fails its task with WorkerError exit', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({
      max: 1,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    await rejectsWithWorkerError(
      renderPdfInWorker({ module: builds, export: 'hog' }, { workers, pool }),
      'exit',
    );
    const lease = await renderPdfInWorker(
      { module: builds, export: 'ticket', data: { id: 1 } },
      { workers, pool },
    );
    lease.release();
    noLeaseInUse(pool);
  });

  it('abort during a long build rejects at once with the reason and replaces the worker', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 1 });
    const controller = new AbortController();
    const p = renderPdfInWorker(
      { module: builds, export: 'slow' },
      { workers, pool, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('enough')), 100);
    await assert.rejects(p, { message: 'enough' });
    const lease = await renderQrInWorkers('next', { workers, pool });
    lease.release();
    noLeaseInUse(pool);
  });

  it('a PDF rendered in a worker has the same bytes as renderPdf on the main thread', async () => {
    const pool = new BufferPool({ shared: true });
    await using workers = new RenderWorkers({ max: 1 });
    const document = { info: { CreationDate: new Date(0) } };
    const inWorker = await renderPdfInWorker(
      { module: builds, export: 'ticket', data: { id: 42 } },
      { workers, pool, document },
    );
    const { ticket } = (await import(builds.href)) as {
      ticket: (doc: PDFKit.PDFDocument, data: { id: number }) => void;
    };
    const onMain = await renderPdf((doc) => ticket(doc, { id: 42 }), { document });
    assert.ok(inWorker.buffer.equals(onMain.buffer));
    inWorker.release();
    onMain.release();
    await assert.rejects(
      renderPdfInWorker({ module: builds, export: 'ticket', data: () => 1 }, { workers, pool }),
      { name: 'TypeError', message: /cannot be sent to a worker/ },
    );
    noLeaseInUse(pool);
  });
});
