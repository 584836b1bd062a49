/**
 * The PDF task as it runs in a render worker: the user's build module draws with `renderPdf` into
 * the worker's own pool; the bytes then go into the block the main thread leased for them.
 *
 * @module
 */
import { BufferPool } from '../../pool/index.js';
import type { SizedOutput } from '../../workers/protocol.js';
import type { PdfBuildContext } from './build-context.js';
import type { PdfDocumentOptions } from './document.js';
import { renderPdf } from './render.js';

/** @internal What the main thread sends for one PDF. */
export interface PdfTaskInput {
  module: string;
  name: string;
  data: unknown;
  maxBytes: number;
  document: PdfDocumentOptions;
}

// The worker's own pool for the document's blocks while it grows: reused by every PDF this
// thread renders, trimmed when idle like any pool.
let local: BufferPool | undefined;

/** @internal The handler `runChunk` calls in the worker for each PDF. */
export async function renderPdfSized(input: unknown): Promise<SizedOutput> {
  const { module, name, data, maxBytes, document } = input as PdfTaskInput;
  const mod = (await import(module)) as Record<string, unknown>;
  const build = mod[name];
  if (typeof build !== 'function') {
    throw new TypeError(`build.module ${module} has no function export ${JSON.stringify(name)}`);
  }
  local ??= new BufferPool({ name: 'slabio-pdf-worker' });
  const lease = await renderPdf((doc, context: PdfBuildContext) => build(doc, data, context), {
    pool: local,
    maxBytes,
    document,
  });
  return {
    length: lease.buffer.length,
    write: (target) => target.set(lease.buffer),
    dispose: () => lease.release(),
  };
}
