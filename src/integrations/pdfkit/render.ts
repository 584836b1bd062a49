/**
 * `renderPdf`: one pdfkit document into one pooled lease or one file written without cache.
 *
 * @module
 */
import { debug } from '../../debug.js';
import { ClosedError } from '../../errors.js';
import { writeFileNoCache } from '../../fs/index.js';
import type { Lease } from '../../pool/index.js';
import { BlockWriter } from '../../read-all/block-writer.js';
import { drainStream } from '../../read-all/stream-drain.js';
import { isPrematureClose } from '../../source/index.js';
import { checkFunction } from '../../validate.js';
import { PdfBuildContext } from './build-context.js';
import type { PdfDocument } from './document.js';
import { type PdfSettings, pdfSettings, type RenderPdfOptions } from './options.js';
import { RenderDocument } from './render-document.js';

/**
 * Draws the document: synchronous, or async (a returned promise is awaited before the document is
 * ended; any other return value, such as the `doc` that pdfkit's chained calls return, is ignored).
 */
export type PdfBuild = (doc: PdfDocument, context: PdfBuildContext) => unknown;

/** What {@link renderPdf} resolves to with `path`. */
export interface PdfFileResult {
  /** The file written (the `path` option). */
  path: string;
  /** Its size in bytes. */
  bytesWritten: number;
}

/**
 * Run `build` on a fresh document while readAll's engine (a {@link BlockWriter} fed by
 * `drainStream`) stores its output, then `finish` with the filled writer. pdfkit pushes each
 * object as it is drawn and ignores `pause()` (its `_read` is a no-op), so the writer leases
 * blocks synchronously (`syncLease`): with a block leased asynchronously, everything a synchronous
 * `build` draws meanwhile would pile up in the document's stream buffer, past `maxBytes`. Only
 * when the pool would have to wait does the drain pause and keep the chunks in order.
 *
 * The first failure (the caller's abort, the limit or a pool error, `build`'s error, `finish`'s
 * error) wins and aborts the rest; the promise settles only after `build` returned, and then
 * every block and owned lease is released and the document destroyed.
 */
async function renderDocument<T>(
  build: PdfBuild,
  s: PdfSettings,
  finish: (writer: BlockWriter, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const context = new PdfBuildContext(controller.signal);
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    if (failure !== undefined) return;
    failure = { error };
    controller.abort(error);
  };
  const onAbort = (): void => fail(s.signal?.reason);
  s.signal?.addEventListener('abort', onAbort, { once: true });
  const writer = new BlockWriter({
    pool: s.pool,
    maxBytes: s.maxBytes,
    declared: undefined,
    signal: controller.signal,
    label: 'PDF',
    syncLease: true,
  });
  let doc: PdfDocument | undefined;
  try {
    doc = new RenderDocument(s.document);
    // On failure the drain stops listening and destroys the document.
    const stored = drainStream(doc, writer, controller.signal).catch((err: unknown) => {
      // build destroyed the document itself: what was drawn is incomplete.
      fail(
        isPrematureClose(err)
          ? new ClosedError('the PDF document (destroyed before it ended)')
          : err,
      );
    });
    // The constructor already pushed the header; the 'data' listener starts the flow on the next
    // tick. Let it drain, so that every chunk build draws is stored the moment it is pushed.
    await new Promise((resolve) => process.nextTick(resolve));
    if (failure === undefined) {
      try {
        await build(doc, context);
        // The drain destroys the document when it fails; its rejection is still on its way.
        if (failure === undefined && !doc.destroyed) doc.end();
      } catch (err) {
        fail(err);
      }
    }
    await stored;
    if (failure === undefined) {
      try {
        return await finish(writer, controller.signal);
      } catch (err) {
        fail(err);
      }
    }
    throw (failure as { error: unknown }).error;
  } catch (err) {
    debug('renderPdf failed: %s', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    s.signal?.removeEventListener('abort', onAbort);
    writer.close();
    doc?.destroy();
    context.releaseOwned();
  }
}

/**
 * Render a PDF with pdfkit into one pooled lease, or with `path` into a file written through the
 * no-cache writer (atomic by default).
 *
 * `build(doc, context)` draws on a fresh `PDFDocument` (created with `options.document`) and may be
 * async; the document is ended when it returns (calling `doc.end()` in `build` is fine too). While it draws, pdfkit's output is copied straight
 * into pool blocks (class by class, never doubling), so a document costs its own size in pooled
 * memory instead of a chunk array plus a `Buffer.concat` copy. With `path` the blocks are written
 * with one `pwritev` and released, without the final copy into one buffer.
 *
 * Images from leases: `doc.image(context.own(lease), ...)`. pdfkit holds on to the bytes until the
 * image is written into the document (for PNGs with alpha or interlacing, in a zlib callback after
 * `doc.image()` returned), so the lease must stay unreleased until `renderPdf` settles: `own()`
 * hands it over and releases it then, also on failure. A lease you keep yourself must likewise
 * not be released before then.
 *
 * If `build` throws (or rejects), the document is destroyed, every block and owned lease is
 * released, no file (and no temp file) is left, and the error propagates unchanged. The same holds
 * for an abort and for `maxBytes`, where `context.signal` tells an async `build` to stop;
 * `renderPdf` settles only after `build` returned.
 *
 * A `'wait'` pool must fit the largest document about 2.25 times (the blocks plus the final copy
 * into one lease; about 1.25 times with `path`); below that the render rejects with
 * `ERR_SLABIO_POOL_EXHAUSTED` once it only waits for memory that waiting operations hold.
 *
 * @param build Draws on the document; `context` has `signal` and `own(lease)`.
 * @param options See {@link RenderPdfOptions}.
 * @returns A lease of exactly the PDF's bytes (release it, or pass it to `writeFileNoCache`), or
 * with `path` `{ path, bytesWritten }`.
 * @default options `{ pool: getDefaultPool(), maxBytes: Infinity, document: {}, atomic: true (with path) }`
 * @throws {TypeError} (rejects) when `build` is not a function or an option has the wrong type, naming it.
 * @throws {RangeError} (rejects) for an out-of-range `maxBytes`.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` when the PDF grows past `maxBytes`.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @throws {ClosedError} `ERR_SLABIO_CLOSED` when `build` destroyed the document.
 * @throws {Error} the kernel's error when writing `path` fails, shaped as Node's fs errors
 * (`code` `ENOENT`, `ENOSPC`, …).
 * @throws whatever `build` or pdfkit throws, unchanged, or `signal.reason` on abort.
 * @example
 * ```ts
 * import { renderPdf } from 'slabio/pdfkit';
 * import { renderQr } from 'slabio/qrcode';
 * await renderPdf(
 *   (doc, ctx) => {
 *     doc.fontSize(18).text('Ticket 42');
 *     doc.image(ctx.own(renderQr('https://example.com/t/42', { scale: 8 })), { width: 144 });
 *   },
 *   { path: 'ticket-42.pdf', document: { size: 'A4' }, maxBytes: 1 << 20 },
 * );
 * ```
 */
export function renderPdf(
  build: PdfBuild,
  options: RenderPdfOptions & { path: string },
): Promise<PdfFileResult>;
export function renderPdf(
  build: PdfBuild,
  options?: RenderPdfOptions & { path?: undefined },
): Promise<Lease>;
export function renderPdf(
  build: PdfBuild,
  options?: RenderPdfOptions,
): Promise<Lease | PdfFileResult>;
export async function renderPdf(
  build: PdfBuild,
  options: RenderPdfOptions = {},
): Promise<Lease | PdfFileResult> {
  checkFunction('build', build);
  const s = pdfSettings(options);
  s.signal?.throwIfAborted();
  const { path } = s;
  if (path === undefined) return renderDocument(build, s, (writer) => writer.toLease());
  return renderDocument(build, s, async (writer, signal) => {
    // The blocks go to the writer as they are (one pwritev, no copy into one buffer); it
    // releases them once written, and removes its temp file on failure.
    const { bytesWritten } = await writeFileNoCache(path, writer.takeBlocks(), {
      ...s.write,
      atomic: s.atomic,
      signal,
    });
    return { path, bytesWritten };
  });
}
