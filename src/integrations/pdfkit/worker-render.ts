/**
 * `renderPdfInWorker`: a PDF drawn by a build module on a render worker.
 *
 * @module
 */
import type { BufferPool, Lease } from '../../pool/index.js';
import { checkObject, stringOption } from '../../validate.js';
import { checkWorkers } from '../../workers/check.js';
import { moduleUrl } from '../../workers/options.js';
import type { RenderWorkers } from '../../workers/render-workers.js';
import { runChunk, type TaskRef } from '../../workers/sized-run.js';
import { pdfSettings, type RenderPdfOptions } from './options.js';
import type { PdfTaskInput } from './worker-task.js';

const TASK: TaskRef = {
  module: new URL('./worker-task.js', import.meta.url).href,
  name: 'renderPdfSized',
};

/**
 * A build that can run in a worker: a function cannot cross threads, so it is named by its
 * module and export, and gets its input as `data`, copied to the worker by structured clone.
 * The export is called as `build(doc, data, context)` with a fresh `PDFDocument` and a
 * `PdfBuildContext` (`context.own(lease)` takes leases of the worker's own pool).
 */
export interface PdfWorkerBuild {
  /** The module: an absolute path or a URL (`new URL('./ticket.js', import.meta.url)`). */
  module: string | URL;
  /** The export to call. @default 'default' */
  export?: string | undefined;
  /** Its input: anything structured clone copies (no functions, no leases; bytes are copied). */
  data?: unknown;
}

/** Options of {@link renderPdfInWorker}. */
export interface RenderPdfInWorkerOptions
  extends Omit<RenderPdfOptions, 'path' | 'atomic' | 'write'> {
  /** The threads to render on. */
  workers: RenderWorkers;
  /** A pool created with `{ shared: true }`: the worker writes the PDF into its block. */
  pool: BufferPool;
}

/**
 * Render a PDF on a worker thread: the main thread only leases the block for the result, so a
 * batch of PDFs keeps its event loop free. The worker draws with `renderPdf` into its own pool,
 * then copies the finished document once into a block of `pool` leased for exactly its length.
 *
 * Limits: the build is a module export, not a closure; `data` and `document` are structured
 * clones; an abort stops the worker thread (it is replaced), since a build cannot be interrupted
 * from outside; `maxBytes` is checked in the worker.
 *
 * @throws {TypeError} for a bad `build` or option, or a pool that is not shared.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` past `maxBytes`.
 * @throws {WorkerError} `ERR_SLABIO_WORKER`: `'task'` when the build threw (its error, rebuilt, is
 * the `cause`), `'exit'` when the thread died, `'start'` when none could start.
 * @throws `signal.reason` on abort.
 * @example
 * ```ts
 * const lease = await renderPdfInWorker(
 *   { module: new URL('./ticket.js', import.meta.url), export: 'drawTicket', data: { id: 42 } },
 *   { workers, pool, document: { size: 'A4' } },
 * );
 * ```
 */
export async function renderPdfInWorker(
  build: PdfWorkerBuild,
  options: RenderPdfInWorkerOptions,
): Promise<Lease> {
  checkObject('build', build);
  checkObject('options', options);
  const module = moduleUrl('build.module', build.module);
  const name = stringOption('build.export', build.export, 'default');
  const { workers, ...rest } = options;
  const s = pdfSettings(rest);
  checkWorkers(workers, s.pool);
  s.signal?.throwIfAborted();
  const input: PdfTaskInput = {
    module,
    name,
    data: build.data,
    maxBytes: s.maxBytes,
    document: s.document,
  };
  const chunk = runChunk(workers, s.pool, TASK, [input], s.signal, Promise.resolve());
  return chunk.items[0] as Promise<Lease>;
}
