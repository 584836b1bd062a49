/**
 * renderPdf failure paths: whatever stops a render (build throws or rejects, abort before or
 * during, maxBytes, an exhausted pool, a bad lease, an unwritable path) propagates unchanged and
 * leaves no lease in use, no file or temp file, and no live document behind.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  BufferPool,
  ClosedError,
  type Lease,
  LimitExceededError,
  PoolExhaustedError,
  UseAfterReleaseError,
} from 'slabio';
import {
  type PdfBuild,
  type PdfBuildContext,
  type RenderPdfOptions,
  renderPdf,
} from 'slabio/pdfkit';
import { renderQr } from 'slabio/qrcode';
import { tempDir } from './helpers.js';

interface Probe {
  doc: PDFKit.PDFDocument | undefined;
  context: PdfBuildContext | undefined;
  owned: Lease[];
}

interface Setup {
  pool: BufferPool;
  dir: string;
  probe: Probe;
}

async function setup(t: TestContext, poolOptions = {}): Promise<Setup> {
  const pool = new BufferPool({ idleTrimMs: 0, ...poolOptions });
  const dir = await tempDir(t);
  t.after(() => pool.close());
  return { pool, dir, probe: { doc: undefined, context: undefined, owned: [] } };
}

/** Draw some text and one owned QR image, recording what renderPdf handed out. */
function draw(s: Setup, doc: PDFKit.PDFDocument, context: PdfBuildContext): void {
  s.probe.doc = doc;
  s.probe.context = context;
  doc.text('drawn before the failure');
  const qr = renderQr('owned by renderPdf', { pool: s.pool });
  s.probe.owned.push(qr);
  doc.image(context.own(qr), 72, 120, { width: 100 });
}

/** Nothing left behind: no lease, no file (the pre-existing `keep.pdf` untouched), no live doc. */
async function assertClean(s: Setup): Promise<void> {
  assert.equal(s.pool.stats().inUseBytes, 0, 'no lease in use');
  for (const lease of s.probe.owned) assert.equal(lease.released, true, 'owned lease released');
  if (s.probe.doc !== undefined) assert.equal(s.probe.doc.destroyed, true, 'document destroyed');
  assert.deepEqual(await readdir(s.dir), ['keep.pdf'], 'no new file, no temp file');
  assert.equal(await readFile(join(s.dir, 'keep.pdf'), 'utf8'), 'previous report');
}

/** Run `build` both into a lease and into an existing file; each must reject as `check` says. */
async function bothOutputs(
  t: TestContext,
  build: (s: Setup) => PdfBuild,
  check: (err: unknown, s: Setup) => boolean,
  options: (s: Setup) => RenderPdfOptions = () => ({}),
): Promise<void> {
  for (const withPath of [false, true]) {
    const s = await setup(t);
    await writeFile(join(s.dir, 'keep.pdf'), 'previous report');
    const path = withPath ? { path: join(s.dir, 'keep.pdf') } : {};
    await assert.rejects(
      renderPdf(build(s), { ...options(s), ...path, pool: s.pool }),
      (err: unknown) => check(err, s),
    );
    await assertClean(s);
  }
}

describe('renderPdf: build fails', () => {
  it('build throws synchronously: the same error, nothing left', async (t) => {
    const boom = new Error('sync boom');
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        throw boom;
      },
      (err) => err === boom,
    );
  });

  it('build rejects after awaiting: the same error, nothing left', async (t) => {
    const boom = new RangeError('async boom');
    await bothOutputs(
      t,
      (s) => async (doc, ctx) => {
        draw(s, doc, ctx);
        await new Promise((resolve) => setImmediate(resolve));
        doc.addPage().text('page two');
        throw boom;
      },
      (err) => err === boom,
    );
  });

  it('a thrown non-Error value passes through unchanged', async (t) => {
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        throw 'a string';
      },
      (err) => err === 'a string',
    );
  });

  it('own() of a released lease throws ERR_SLABIO_RELEASED; of a non-lease, TypeError', async (t) => {
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        const gone = s.pool.acquire(100);
        gone.release();
        ctx.own(gone);
      },
      (err) => err instanceof UseAfterReleaseError && err.code === 'ERR_SLABIO_RELEASED',
    );
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        ctx.own(Buffer.alloc(4) as unknown as Lease);
      },
      (err) => err instanceof TypeError && /lease must be a Lease/.test(err.message),
    );
  });
});

describe('renderPdf: build ends or destroys the document itself', () => {
  it('doc.end() in build is fine: the document is ended once', async (t) => {
    const s = await setup(t);
    const lease = await renderPdf(
      (doc, ctx) => {
        draw(s, doc, ctx);
        doc.end();
      },
      { pool: s.pool },
    );
    assert.equal(lease.buffer.toString('latin1', lease.buffer.length - 6), '%%EOF\n');
    lease.release();
    assert.equal(s.pool.stats().inUseBytes, 0);
  });

  it('doc.destroy() in build rejects with ERR_SLABIO_CLOSED, nothing left', async (t) => {
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        doc.destroy();
      },
      (err) => err instanceof ClosedError && err.code === 'ERR_SLABIO_CLOSED',
    );
  });
});

describe('renderPdf: abort', () => {
  it('already aborted: rejects with the reason, build never runs', async (t) => {
    const reason = new Error('gone before we started');
    let called = false;
    await bothOutputs(
      t,
      () => () => {
        called = true;
      },
      (err) => err === reason,
      () => ({ signal: AbortSignal.abort(reason) }),
    );
    assert.equal(called, false);
  });

  it('aborted while an async build awaits: context.signal tells it, rejects with the reason', async (t) => {
    const reason = new Error('client went away');
    let controller = new AbortController();
    let seen: unknown;
    await bothOutputs(
      t,
      (s) => async (doc, ctx) => {
        draw(s, doc, ctx);
        const stopped = new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        setImmediate(() => controller.abort(reason));
        await stopped;
        seen = ctx.signal.reason;
        doc.text('drawing on after the abort goes nowhere');
      },
      (err) => err === reason && seen === reason,
      () => {
        controller = new AbortController();
        return { signal: controller.signal };
      },
    );
  });
});

describe('renderPdf: limits', () => {
  it('maxBytes hit while an async build draws: ERR_SLABIO_LIMIT, build told to stop', async (t) => {
    let pages = 0;
    let seen: unknown;
    await bothOutputs(
      t,
      (s) => async (doc, ctx) => {
        draw(s, doc, ctx);
        for (pages = 1; pages < 1000 && !ctx.signal.aborted; pages++) {
          doc.addPage();
          for (let i = 0; i < 40; i++) doc.text(`page ${pages} line ${i}: ${'x'.repeat(60)}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
        seen = ctx.signal.reason;
      },
      (err) =>
        err instanceof LimitExceededError && err.limit === 64 << 10 && seen === err && pages < 1000,
      () => ({ maxBytes: 64 << 10, document: { compress: false } }),
    );
  });

  it('maxBytes hit by a synchronous build: output is consumed as it is drawn, not piled up', async (t) => {
    let piled = 0;
    await bothOutputs(
      t,
      (s) => (doc, ctx) => {
        draw(s, doc, ctx);
        for (let i = 0; i < 3000; i++) {
          doc.text(`line ${i}: ${'y'.repeat(60)}`);
          piled = Math.max(piled, doc.readableLength);
        }
      },
      (err) => err instanceof LimitExceededError && piled === 0,
      () => ({ maxBytes: 32 << 10, document: { compress: false } }),
    );
  });

  it("a pool that cannot grow: ERR_SLABIO_POOL_EXHAUSTED from a 'throw' pool", async (t) => {
    const s = await setup(t, {
      sizeClasses: [4096, 16384],
      maxBytes: 32768,
      slabBytes: 16384,
      onExhausted: 'throw',
    });
    await writeFile(join(s.dir, 'keep.pdf'), 'previous report');
    const build: PdfBuild = (doc, ctx) => {
      draw(s, doc, ctx);
      for (let i = 0; i < 2000; i++) doc.text(`line ${i}: ${'z'.repeat(60)}`);
    };
    await assert.rejects(
      renderPdf(build, { pool: s.pool, document: { compress: false } }),
      PoolExhaustedError,
    );
    await assertClean(s);
  });

  it('a path in a missing directory rejects with ENOENT; leases and blocks released', async (t) => {
    const s = await setup(t);
    await writeFile(join(s.dir, 'keep.pdf'), 'previous report');
    await assert.rejects(
      renderPdf((doc, ctx) => draw(s, doc, ctx), {
        pool: s.pool,
        path: join(s.dir, 'missing', 'out.pdf'),
      }),
      (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT',
    );
    await assertClean(s);
  });
});
