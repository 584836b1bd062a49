/**
 * `renderPdf`: one pdfkit document into one pooled lease or one file written without cache.
 *
 * @module
 */
import PDFDocument from 'pdfkit';
import { debug } from '../../debug.js';
import { writeFileNoCache } from '../../fs/index.js';
import type { Lease } from '../../pool/index.js';
import { type ChunkList, type ReadAllOptions, readAll, readAllChunks } from '../../read-all.js';
import { PdfBuildContext } from './build-context.js';
import { type PdfSettings, pdfSettings, type RenderPdfOptions } from './options.js';

/** Draws the document: synchronous, or async (awaited before the document is ended). */
export type PdfBuild = (
  doc: PDFKit.PDFDocument,
  context: PdfBuildContext,
) => void | PromiseLike<void>;

/** What {@link renderPdf} resolves to with `path`. */
export interface PdfFileResult {
  /** The file written (the `path` option). */
  path: string;
  /** Its size in bytes. */
  bytesWritten: number;
}

type Collect<T> = (doc: PDFKit.PDFDocument, options: ReadAllOptions) => Promise<T>;

/**
 * Resolve once the collector listens to `doc` (or once `cancel()` is called). pdfkit pushes every
 * chunk synchronously and ignores backpressure, so a synchronous `build` that starts before the
 * collector listens would pile the whole document up in the stream's buffer, past any `maxBytes`.
 */
function whenConsumed(doc: PDFKit.PDFDocument): { promise: Promise<void>; cancel: () => void } {
  let cancel = (): void => {};
  const promise = new Promise<void>((resolve) => {
    const onListener = (event: string | symbol): void => {
      if (event === 'data' || event === 'readable') cancel();
    };
    cancel = () => {
      doc.removeListener('newListener', onListener);
      resolve();
    };
    doc.on('newListener', onListener);
  });
  return { promise, cancel };
}

/**
 * Run `build` on a fresh document while `collect` consumes it. The first failure (the caller's
 * abort, the collector's error, `build`'s error) wins and aborts the rest; the promise settles
 * only after `build` returned and the collector stopped, and then every owned lease is released.
 */
async function renderDocument<T extends Lease | ChunkList>(
  build: PdfBuild,
  s: PdfSettings,
  collect: Collect<T>,
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
  let doc: PDFKit.PDFDocument | undefined;
  try {
    doc = new PDFDocument(s.document);
    const consumed = whenConsumed(doc);
    const output = collect(doc, { pool: s.pool, maxBytes: s.maxBytes, signal: controller.signal });
    const collected = output.then(
      () => {},
      (err: unknown) => fail(err),
    );
    await Promise.race([consumed.promise, collected]);
    consumed.cancel();
    if (failure === undefined) {
      try {
        await build(doc, context);
        // The collector destroys the document when it fails; its rejection is still on its way.
        if (failure === undefined && !doc.destroyed) doc.end();
      } catch (err) {
        fail(err);
      }
    }
    await collected;
    if (failure !== undefined) {
      // The collector may have finished just before an abort: its result is not wanted then.
      output.then(
        (result) => result.release(),
        () => {},
      );
      throw failure.error;
    }
    return await output;
  } catch (err) {
    debug('renderPdf failed: %s', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    s.signal?.removeEventListener('abort', onAbort);
    doc?.destroy();
    context.releaseOwned();
  }
}

/**
 * Render a PDF with pdfkit into one pooled lease, or with `path` into a file written through the
 * no-cache writer (atomic by default).
 *
 * `build(doc, context)` draws on a fresh `PDFDocument` (created with `options.document`) and may be
 * async; the document is ended when it returns. While it draws, pdfkit's output is copied straight
 * into pool blocks (class by class, never doubling), so a document costs its own size in pooled
 * memory instead of a chunk array plus a `Buffer.concat` copy. With `path` the blocks are written
 * with one `pwritev` and released, without the final copy into one buffer.
 *
 * Images from leases: `doc.image(context.own(lease), ...)`. pdfkit may read the bytes after
 * `doc.image()` returned (PNGs with alpha or interlacing are decoded in a zlib callback), so the
 * lease must stay unreleased until `renderPdf` settles: `own()` hands it over and releases it
 * then, also on failure. A lease you keep yourself must likewise not be released before then.
 *
 * If `build` throws (or rejects), the document is destroyed, every block and owned lease is
 * released, no file (and no temp file) is left, and the error propagates unchanged. The same holds
 * for an abort and for `maxBytes`, where `context.signal` tells an async `build` to stop;
 * `renderPdf` settles only after `build` returned.
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
 * @throws {SystemError} `ERR_SLABIO_SYSTEM` (and `fs` errors such as `ENOENT`) when writing `path` fails.
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
  if (typeof build !== 'function') {
    throw new TypeError(`build must be a function, got ${typeof build}`);
  }
  const s = pdfSettings(options);
  s.signal?.throwIfAborted();
  const { path } = s;
  if (path === undefined) return renderDocument(build, s, readAll);
  const chunks = await renderDocument(build, s, readAllChunks);
  try {
    const { bytesWritten } = await writeFileNoCache(path, chunks.chunks, {
      ...s.write,
      atomic: s.atomic,
      ...(s.signal === undefined ? {} : { signal: s.signal }),
    });
    return { path, bytesWritten };
  } finally {
    chunks.release();
  }
}
