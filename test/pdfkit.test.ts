import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';
import { PNG } from 'pngjs';
import { BufferPool, type Lease, LimitExceededError } from 'slabio';
import {
  type PdfBuild,
  type PdfBuildContext,
  type RenderPdfOptions,
  renderPdf,
} from 'slabio/pdfkit';
import { renderQr } from 'slabio/qrcode';
import { cell, code, PER_PAGE, QR_SIZE } from '../examples/pdf-report.js';
import { tempDir } from './helpers.js';
import { decodeAt, pdfInfo, popplerMissing, renderPage } from './pdfkit-helpers.js';
import { readPng } from './qrcode-helpers.js';

const skip = popplerMissing ?? false;
const DPI = 144;
// A fixed creation date makes pdfkit's output (and its file ID, a hash of the info) reproducible.
const FIXED = { info: { CreationDate: new Date(0) } };

function testPool(t: TestContext): BufferPool {
  // Debug mode detaches a released lease's buffer: pdfkit reading an image lease too late would
  // read zero bytes and the PDF would not render.
  const pool = new BufferPool({ debug: true, idleTrimMs: 0 });
  t.after(() => pool.close());
  return pool;
}

function copyOut(lease: Lease): Buffer {
  try {
    return Buffer.from(lease.buffer);
  } finally {
    lease.release();
  }
}

const box = (x: number, y: number, size: number) => ({ x, y, width: size, height: size });

describe('renderPdf output is a valid PDF', () => {
  it('into a lease: poppler renders it and the embedded QR code decodes', { skip }, async (t) => {
    const pool = testPool(t);
    let qr: Lease | undefined;
    const text = 'https://example.com/t/42?seat=A7';
    const lease = await renderPdf(
      (doc, ctx) => {
        doc.fontSize(18).text('Ticket 42', 72, 72);
        qr = renderQr(text, { pool, scale: 4 });
        doc.image(ctx.own(qr), 72, 120, { width: 144 });
      },
      { pool },
    );
    assert.equal(qr?.released, true, 'the owned QR lease is released once renderPdf resolved');
    const pdf = lease.buffer;
    assert.equal(pdf.toString('latin1', 0, 8), '%PDF-1.3');
    assert.equal(pdf.toString('latin1', pdf.length - 6), '%%EOF\n');
    assert.equal(pool.stats().inUseBytes, lease.capacity, 'only the result is leased');
    const bytes = copyOut(lease);
    assert.equal(pool.stats().inUseBytes, 0);
    assert.equal(pdfInfo(bytes).pages, 1);
    assert.equal(decodeAt(renderPage(bytes, 1, DPI), DPI, box(72, 120, 144)), text);
  });

  it('async build over several pages; document options pass through', { skip }, async (t) => {
    const pool = testPool(t);
    const texts = ['第一页 page one', 'page two: ünïcödé', 'https://example.com/3'];
    const lease = await renderPdf(
      async (doc, ctx) => {
        for (const [i, text] of texts.entries()) {
          if (i > 0) doc.addPage();
          // A real build awaits data between pages; the document keeps streaming meanwhile.
          await new Promise((resolve) => setImmediate(resolve));
          doc.fontSize(10).text(`page ${i + 1}`);
          doc.image(ctx.own(renderQr(text, { pool, scale: 3 })), 40, 60, { width: 120 });
        }
      },
      { pool, document: { size: 'A6', margin: 20, info: { Title: 'slabio pdfkit test' } } },
    );
    const pdf = copyOut(lease);
    const info = pdfInfo(pdf);
    assert.equal(info.pages, 3);
    assert.deepEqual([info.width, info.height], [297.64, 419.53]); // A6
    assert.equal(info.fields.get('Title'), 'slabio pdfkit test');
    for (const [i, text] of texts.entries()) {
      assert.equal(decodeAt(renderPage(pdf, i + 1, DPI), DPI, box(40, 60, 120)), text);
    }
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('an owned RGBA PNG lease (embedded in a zlib callback) is held until renderPdf settles', {
    skip,
  }, async (t) => {
    const pool = testPool(t);
    const text = 'alpha channel, decoded in a zlib callback';
    const gray = readPng(copyOut(renderQr(text, { pool, scale: 4 })));
    const rgba = new PNG({ width: gray.width, height: gray.height, colorType: 6 });
    for (let i = 0; i < gray.pixels.length; i++) {
      rgba.data.fill(gray.pixels[i] as number, i * 4, i * 4 + 3);
      rgba.data[i * 4 + 3] = 255;
    }
    const encoded = PNG.sync.write(rgba, { colorType: 6 });
    const image = pool.acquire(encoded.length);
    encoded.copy(image.buffer);
    const lease = await renderPdf(
      (doc, ctx) => {
        doc.image(ctx.own(image), 100, 100, { width: 160 });
        assert.equal(image.released, false);
      },
      { pool },
    );
    assert.equal(image.released, true);
    const pdf = copyOut(lease);
    assert.equal(decodeAt(renderPage(pdf, 1, DPI), DPI, box(100, 100, 160)), text);
  });

  it('with path: atomic by default, replaces an existing file, leaves no temp file', {
    skip,
  }, async (t) => {
    const pool = testPool(t);
    const dir = await tempDir(t);
    const path = join(dir, 'report.pdf');
    await writeFile(path, 'old contents');
    const text = 'written without cache';
    const result = await renderPdf(
      (doc, ctx) => {
        doc.image(ctx.own(renderQr(text, { pool })), 72, 72, { width: 144 });
      },
      { pool, path },
    );
    assert.deepEqual(await readdir(dir), ['report.pdf']);
    const pdf = await readFile(path);
    assert.deepEqual(result, { path, bytesWritten: pdf.length });
    assert.equal(decodeAt(renderPage(pdf, 1, DPI), DPI, box(72, 72, 144)), text);
    assert.equal(pool.stats().inUseBytes, 0);

    const plain = await renderPdf((doc) => doc.text('not atomic'), { pool, path, atomic: false });
    assert.equal(plain.bytesWritten, (await readFile(path)).length);
    assert.equal(pdfInfo(await readFile(path)).pages, 1);
    assert.deepEqual(await readdir(dir), ['report.pdf']);
  });
});

describe('renderPdf bytes equal plain pdfkit', () => {
  const build: PdfBuild = (doc) => {
    for (let i = 0; i < 1500; i++) doc.text(`line ${i}: ${'reproducible '.repeat(4)}`);
  };

  function plainPdfkit(): Promise<Buffer> {
    const doc = new PDFDocument({ ...FIXED, compress: false });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<Buffer>((resolve) =>
      doc.on('end', () => resolve(Buffer.concat(chunks))),
    );
    build(doc, undefined as unknown as PdfBuildContext);
    doc.end();
    return ended;
  }

  it('with a roomy pool: byte for byte what doc.on("data") + Buffer.concat gives', async (t) => {
    const pool = testPool(t);
    const expected = await plainPdfkit();
    assert.ok(expected.length > 100_000, 'large enough to need several blocks');
    const lease = await renderPdf(build, { pool, document: { ...FIXED, compress: false } });
    assert.ok(copyOut(lease).equals(expected));
  });

  it("with a 'wait' pool that must wait for a block mid-document: same bytes, in order", async (t) => {
    // The budget fits the document twice over (blocks + the final copy), but 15 of its 16 largest
    // blocks are held elsewhere, so the render runs out of blocks while build is still drawing.
    const pool = new BufferPool({
      sizeClasses: [4096, 16384, 65536],
      maxBytes: 16 * 65536,
      slabBytes: 65536,
      onExhausted: 'wait',
      idleTrimMs: 0,
    });
    t.after(() => pool.close());
    const expected = await plainPdfkit();
    const blockers = Array.from({ length: 15 }, () => pool.acquire(65536));
    const lease = await renderPdf(
      (doc, ctx) => {
        build(doc, ctx);
        assert.ok(doc.isPaused(), 'the render is waiting for a block');
        for (const blocker of blockers) blocker.release();
      },
      { pool, document: { ...FIXED, compress: false } },
    );
    assert.ok(copyOut(lease).equals(expected));
    assert.equal(pool.stats().inUseBytes, 0);
  });
});

describe('renderPdf maxBytes', () => {
  const build: PdfBuild = (doc) => {
    for (let i = 0; i < 200; i++) doc.text(`line ${i} of a document that is exactly reproducible`);
  };

  it('exactly the size succeeds; one byte less is ERR_SLABIO_LIMIT, nothing left', async (t) => {
    const pool = testPool(t);
    const dir = await tempDir(t);
    const size = copyOut(await renderPdf(build, { pool, document: FIXED })).length;
    const exact = await renderPdf(build, { pool, document: FIXED, maxBytes: size });
    assert.equal(copyOut(exact).length, size);
    for (const options of [{}, { path: join(dir, 'limit.pdf') }] as RenderPdfOptions[]) {
      await assert.rejects(
        renderPdf(build, { ...options, pool, document: FIXED, maxBytes: size - 1 }),
        (err: unknown) =>
          err instanceof LimitExceededError &&
          err.code === 'ERR_SLABIO_LIMIT' &&
          err.limit === size - 1,
      );
      assert.equal(pool.stats().inUseBytes, 0);
      assert.deepEqual(await readdir(dir), []);
    }
  });
});

describe('renderPdf options', () => {
  const cases: [string, unknown, RegExp, ErrorConstructor][] = [
    ['pool', { pool: {} }, /options\.pool must be a BufferPool/, TypeError],
    [
      'maxBytes type',
      { maxBytes: '10' },
      /options\.maxBytes must be a number, got string/,
      TypeError,
    ],
    [
      'maxBytes range',
      { maxBytes: -1 },
      /options\.maxBytes must be a non-negative integer or Infinity, got -1/,
      RangeError,
    ],
    ['signal', { signal: 'no' }, /options\.signal must be an AbortSignal/, TypeError],
    ['document', { document: null }, /options\.document must be an object, got null/, TypeError],
    ['path', { path: '' }, /options\.path must be a non-empty string/, TypeError],
    [
      'atomic',
      { path: 'x.pdf', atomic: 'yes' },
      /options\.atomic must be a boolean, got yes/,
      TypeError,
    ],
    ['atomic without path', { atomic: true }, /need options\.path/, TypeError],
    [
      'write.signal',
      { path: 'x.pdf', write: { signal: AbortSignal.abort() } },
      /options\.write\.signal/,
      TypeError,
    ],
    ['options', null, /options must be an object, got null/, TypeError],
  ];
  for (const [name, options, message, type] of cases) {
    it(`bad ${name} rejects with ${type.name} naming it`, async () => {
      await assert.rejects(
        renderPdf(() => {}, options as RenderPdfOptions),
        (err: unknown) => err instanceof type && message.test((err as Error).message),
      );
    });
  }

  it('build that is not a function rejects with TypeError', async () => {
    await assert.rejects(
      renderPdf('draw' as unknown as PdfBuild),
      /build must be a function, got string/,
    );
  });
});

describe('examples/pdf-report', () => {
  it('lays out 20 codes per page and every code decodes', { skip }, async (t) => {
    const dir = await tempDir(t);
    const script = join(dirname(fileURLToPath(import.meta.url)), '../examples/pdf-report.js');
    const run = spawnSync(
      process.execPath,
      [script, '--count', '45', '--per-pdf', '40', '--out', dir],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /wrote 45 codes into 2 PDFs \(3 pages\)/);
    assert.match(run.stdout, /pool: 0 bytes in use/);
    assert.deepEqual((await readdir(dir)).sort(), ['report-001.pdf', 'report-002.pdf']);
    const reports: [string, number, number][] = [
      ['report-001.pdf', 1, 40],
      ['report-002.pdf', 41, 5],
    ];
    for (const [file, first, count] of reports) {
      const pdf = await readFile(join(dir, file));
      const info = pdfInfo(pdf);
      assert.equal(info.pages, Math.ceil(count / PER_PAGE));
      const pages = Array.from({ length: info.pages }, (_, p) => renderPage(pdf, p + 1, DPI));
      for (let i = 0; i < count; i++) {
        const { page, x, y } = cell(i);
        const decoded = decodeAt(pages[page] as (typeof pages)[number], DPI, box(x, y, QR_SIZE));
        assert.equal(decoded, code(first + i).text, `${file} code ${i}`);
      }
    }
  });
});
