/**
 * Options of `renderPdf`, and their validation.
 *
 * @module
 */
import type { WriteFileNoCacheOptions } from '../../fs/index.js';
import { BufferPool, getDefaultPool } from '../../pool/index.js';
import { limitOption } from '../../validate.js';
import type { PdfDocumentOptions } from './document.js';

/** What `renderPdf` passes on to `writeFileNoCache` with `path` (`atomic` and `signal` are its own options). */
export type PdfWriteOptions = Omit<WriteFileNoCacheOptions, 'signal' | 'atomic'>;

/** Options of {@link renderPdf}. Every option is optional. */
export interface RenderPdfOptions {
  /** Pool the output blocks (and the result lease) come from. @default getDefaultPool() */
  pool?: BufferPool | undefined;
  /**
   * Refuse documents larger than this many bytes: rendering stops at the first chunk that would
   * cross it (`build` sees `context.signal` abort), everything is released and the promise rejects
   * with `ERR_SLABIO_LIMIT`. A document of exactly `maxBytes` bytes succeeds.
   * @default Infinity
   */
  maxBytes?: number | undefined;
  /**
   * Abort: `build` sees `context.signal` abort, the document is destroyed, nothing is written and
   * the promise rejects with `signal.reason` once `build` has returned.
   */
  signal?: AbortSignal | undefined;
  /**
   * Options for `new PDFDocument(...)`, passed through unchanged (`size`, `margin`, `info`,
   * `compress`, `autoFirstPage`, ...). See pdfkit's documentation.
   * @default {} (pdfkit's defaults: a first LETTER page, 72 pt margins, compressed streams)
   */
  document?: PdfDocumentOptions | undefined;
  /**
   * Write the PDF to this file through the no-cache writer instead of returning a lease. The
   * directory must exist.
   */
  path?: string | undefined;
  /**
   * With `path`: write a temporary sibling, `fdatasync` and rename it over `path`, so a reader never
   * sees half a PDF and a failure leaves an existing file untouched.
   * @default true when `path` is given
   */
  atomic?: boolean | undefined;
  /** With `path`: further options of the no-cache writer (`strategy`, `windowBytes`, `fsync`, `mode`). @default {} */
  write?: PdfWriteOptions | undefined;
}

/** @internal Validated options. */
export interface PdfSettings {
  pool: BufferPool;
  maxBytes: number;
  signal: AbortSignal | undefined;
  document: PdfDocumentOptions;
  path: string | undefined;
  atomic: boolean;
  write: PdfWriteOptions;
}

function optionalObject(name: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new TypeError(`${name} must be an object, got ${String(value)}`);
  }
}

/**
 * @internal Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function pdfSettings(options: RenderPdfOptions): PdfSettings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${String(options)}`);
  }
  const { pool, maxBytes, signal, document, path, atomic, write } = options;
  if (pool !== undefined && !(pool instanceof BufferPool)) {
    throw new TypeError(`options.pool must be a BufferPool, got ${String(pool)}`);
  }
  limitOption('maxBytes', maxBytes, Number.POSITIVE_INFINITY);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${String(signal)}`);
  }
  optionalObject('options.document', document);
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new TypeError(`options.path must be a non-empty string, got ${String(path)}`);
  }
  if (atomic !== undefined && typeof atomic !== 'boolean') {
    throw new TypeError(`options.atomic must be a boolean, got ${String(atomic)}`);
  }
  optionalObject('options.write', write);
  if (write !== undefined && ('signal' in write || 'atomic' in write)) {
    throw new TypeError(
      'options.write.signal and options.write.atomic are not accepted: pass options.signal and options.atomic',
    );
  }
  if (path === undefined && (atomic !== undefined || write !== undefined)) {
    throw new TypeError('options.atomic and options.write need options.path');
  }
  return {
    pool: pool ?? getDefaultPool(),
    maxBytes: maxBytes ?? Infinity,
    signal,
    document: document ?? {},
    path,
    atomic: atomic ?? true,
    write: write ?? {},
  };
}
