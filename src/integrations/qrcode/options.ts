/**
 * Options of `renderQr` and `qrBatch`, and their validation.
 *
 * @module
 */
import type { WriteFileNoCacheOptions } from '../../fs/index.js';
import type { BufferPool } from '../../pool/index.js';
import {
  checkObject,
  checkSignal,
  intOption,
  objectOption,
  oneOf,
  poolOption,
  stringOption,
} from '../../validate.js';
import { checkWorkers } from '../../workers/check.js';
import type { RenderWorkers } from '../../workers/render-workers.js';

/** Error correction level, as `qrcode` names it: share of the symbol that may be damaged. */
export type QrErrorCorrectionLevel = 'L' | 'M' | 'Q' | 'H' | 'low' | 'medium' | 'quartile' | 'high';

/** Output format. */
export type QrFormat = 'png' | 'svg';

/** Options of {@link renderQr}. */
export interface RenderQrOptions {
  /**
   * `'png'`: 1-bit grayscale PNG. `'svg'`: an SVG document (UTF-8, ASCII only).
   * @default 'png'
   */
  format?: QrFormat | undefined;
  /** Pixels per module (PNG) or the `width`/`height` factor (SVG); an integer from 1 to 64. @default 4 */
  scale?: number | undefined;
  /** Quiet zone around the symbol in modules, an integer from 0 to 64 (the QR spec asks for 4). @default 4 */
  margin?: number | undefined;
  /**
   * `'L'` (7 %), `'M'` (15 %), `'Q'` (25 %) or `'H'` (30 %) of codewords recoverable; higher
   * levels hold less text.
   * @default 'M'
   */
  errorCorrectionLevel?: QrErrorCorrectionLevel | undefined;
  /** Pool the output (and the scratch scanline buffer) is leased from. @default getDefaultPool() */
  pool?: BufferPool | undefined;
}

/** What `qrBatch` passes on to `writeFileNoCache` for every file (its own `signal` is used). */
export type QrWriteOptions = Omit<WriteFileNoCacheOptions, 'signal'>;

/** Options of {@link qrBatch}. */
export interface QrBatchOptions extends RenderQrOptions {
  /**
   * Codes in flight at once: rendered and waiting to be consumed or being written. Rendering is
   * synchronous CPU work, so more than a handful only helps overlap file writes.
   * @default 8; with `workers`, 16 × `chunkSize` × `workers.max` (at most 1024)
   */
  concurrency?: number | undefined;
  /**
   * Write each code to `<outDir>/<id>.<format>` through the no-cache writer and yield its `path`
   * instead of a lease. The directory must exist.
   */
  outDir?: string | undefined;
  /** Options for each file write. @default `{}` (the writer's defaults, not atomic) */
  write?: QrWriteOptions | undefined;
  /** Abort: the iterator rejects with `signal.reason` and leaves nothing behind. */
  signal?: AbortSignal | undefined;
  /**
   * Render on these worker threads instead of the main thread, into blocks of `pool`, which must
   * then be a pool created with `{ shared: true }`. Same bytes, same order, same leases.
   */
  workers?: RenderWorkers | undefined;
  /**
   * With `workers`: codes sent to a worker in one message. Larger chunks cost less main-thread
   * time per code; smaller ones spread a short batch over more threads.
   * @default 16
   */
  chunkSize?: number | undefined;
}

/** @internal Validated render options. */
export interface RenderSettings {
  format: QrFormat;
  scale: number;
  margin: number;
  errorCorrectionLevel: QrErrorCorrectionLevel;
  pool: BufferPool;
}

/** @internal Validated batch options. */
export interface BatchSettings extends RenderSettings {
  concurrency: number;
  outDir: string | undefined;
  write: QrWriteOptions;
  signal: AbortSignal | undefined;
  workers: RenderWorkers | undefined;
  chunkSize: number;
}

const LEVELS: readonly QrErrorCorrectionLevel[] = [
  'L',
  'M',
  'Q',
  'H',
  'low',
  'medium',
  'quartile',
  'high',
];
const FORMATS: readonly QrFormat[] = ['png', 'svg'];
// A version-40 symbol (177 modules) with a 64-module margin at scale 64 is 19 520 px wide; the
// bounds keep one image at a few tens of MiB of scanlines at most, never an accidental gigabyte.
const MAX_SCALE = 64;
const MAX_MARGIN = 64;
const MAX_CONCURRENCY = 1024;

/** @internal Validate render options; errors name the option and the value. */
export function renderSettings(options: RenderQrOptions): RenderSettings {
  checkObject('options', options);
  const pool = poolOption(options.pool);
  return {
    format: oneOf('options.format', options.format, FORMATS, 'png'),
    scale: intOption('options.scale', options.scale, 4, { min: 1, max: MAX_SCALE }),
    margin: intOption('options.margin', options.margin, 4, { max: MAX_MARGIN }),
    errorCorrectionLevel: oneOf(
      'options.errorCorrectionLevel',
      options.errorCorrectionLevel,
      LEVELS,
      'M',
    ),
    pool,
  };
}

/** @internal Validate batch options; errors name the option and the value. */
export function batchSettings(options: QrBatchOptions): BatchSettings {
  const render = renderSettings(options);
  const outDir = stringOption('options.outDir', options.outDir);
  const write = objectOption('options.write', options.write);
  if (write !== undefined && 'signal' in write) {
    throw new TypeError('options.write.signal is not accepted: pass options.signal');
  }
  const signal = checkSignal(options.signal);
  const workers =
    options.workers === undefined ? undefined : checkWorkers(options.workers, render.pool);
  const chunkSize = intOption('options.chunkSize', options.chunkSize, 16, {
    min: 1,
    max: MAX_CONCURRENCY,
  });
  // With workers, sixteen chunks in flight per thread: a chunk's results come back only after
  // its blocks were leased and filled, so a short window leaves the threads waiting.
  const concurrency =
    workers === undefined ? 8 : Math.min(MAX_CONCURRENCY, 16 * chunkSize * workers.max);
  return {
    ...render,
    concurrency: intOption('options.concurrency', options.concurrency, concurrency, {
      min: 1,
      max: MAX_CONCURRENCY,
    }),
    workers,
    chunkSize,
    outDir,
    write: write ?? {},
    signal,
  };
}
