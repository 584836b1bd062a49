/**
 * Options of `renderPdf`, and their validation.
 *
 * @module
 */
import type { WriteFileNoCacheOptions } from '../../fs/index.js';
import type { BufferPool } from '../../pool/index.js';
import {
  booleanOption,
  checkObject,
  checkSignal,
  intOption,
  objectOption,
  poolOption,
  stringOption,
} from '../../validate.js';
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

/**
 * @internal Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function pdfSettings(options: RenderPdfOptions): PdfSettings {
  checkObject('options', options);
  const pool = poolOption(options.pool);
  const maxBytes = intOption('options.maxBytes', options.maxBytes, Number.POSITIVE_INFINITY, {
    infinity: true,
  });
  const signal = checkSignal(options.signal);
  const document = objectOption('options.document', options.document);
  const path = stringOption('options.path', options.path);
  const atomic = booleanOption('options.atomic', options.atomic, true);
  const write = objectOption('options.write', options.write);
  if (write !== undefined && ('signal' in write || 'atomic' in write)) {
    throw new TypeError(
      'options.write.signal and options.write.atomic are not accepted: pass options.signal and options.atomic',
    );
  }
  if (path === undefined && (options.atomic !== undefined || write !== undefined)) {
    throw new TypeError('options.atomic and options.write need options.path');
  }
  return {
    pool,
    maxBytes,
    signal,
    document: document ?? {},
    path,
    atomic,
    write: write ?? {},
  };
}
