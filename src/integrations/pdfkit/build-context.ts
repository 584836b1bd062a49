/**
 * What `renderPdf` hands to `build` next to the document.
 *
 * @module
 */
import { Lease } from '../../pool/index.js';

/**
 * The second argument of a `renderPdf` build function.
 *
 * pdfkit keeps a reference to the bytes given to `doc.image()` until the image object is written
 * into the document, which for PNGs with alpha or interlacing happens in a zlib callback after
 * `doc.image()` returned. pdfkit 0.20 copies the bytes it needs inside `doc.image()` (JPEG once,
 * PNG byte by byte into a JS array) and does not read them again, but that is not part of its
 * contract: keep a lease whose buffer went to `doc.image()` unreleased until `renderPdf` settles.
 * `own()` does exactly that, and also releases it when rendering fails.
 */
export class PdfBuildContext {
  readonly #signal: AbortSignal;
  readonly #owned = new Set<Lease>();

  /** @internal Created by `renderPdf`. */
  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /**
   * Aborted when rendering stops early: the caller's `signal` aborted, `maxBytes` was hit, or the
   * output failed. Pass it on to anything slow an async `build` awaits, so `renderPdf` settles
   * promptly: it waits for `build` to return before it rejects.
   */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /**
   * Hand a lease to `renderPdf` and get its buffer, e.g. for `doc.image()`. The lease is released
   * when `renderPdf` settles (resolved or rejected), after pdfkit is done with the bytes; do not
   * release it yourself.
   *
   * @throws {TypeError} when `lease` is not a Lease.
   * @throws {UseAfterReleaseError} `ERR_SLABIO_RELEASED` when it was already released.
   * @example
   * ```ts
   * await renderPdf((doc, ctx) => {
   *   doc.image(ctx.own(renderQr('https://example.com/t/42')), 72, 72, { width: 144 });
   * });
   * ```
   */
  own(lease: Lease): Buffer {
    if (!(lease instanceof Lease)) {
      throw new TypeError(`lease must be a Lease, got ${String(lease)}`);
    }
    const buffer = lease.buffer; // throws ERR_SLABIO_RELEASED before the lease is taken over
    this.#owned.add(lease);
    return buffer;
  }

  /** @internal Release every owned lease; called once the document and its output are done. */
  releaseOwned(): void {
    for (const lease of this.#owned) lease[Symbol.dispose]();
    this.#owned.clear();
  }
}
