/**
 * Options of `renderQr` and `qrBatch`, and their validation.
 *
 * @module
 */
import type { NoCacheWriteOptions } from '../../fs/index.js';
import { BufferPool, getDefaultPool } from '../../pool/index.js';
import { checkWorkers } from '../../workers/check.js';
import type { RenderWorkers } from '../../workers/render-workers.js';

/** Error correction level, as `qrcode` names it: share of the symbol that may be damaged. */
export type QrErrorCorrectionLevel = 'L' | 'M' | 'Q' | 'H' | 'low' | 'medium' | 'quartile' | 'high';

/** Output format. */
export type QrFormat = 'png' | 'svg';

/** Options of {@link renderQr}. */
export interface QrRenderOptions {
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
export type QrWriteOptions = Omit<NoCacheWriteOptions, 'signal'>;

/** Options of {@link qrBatch}. */
export interface QrBatchOptions extends QrRenderOptions {
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

function intIn(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function oneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new TypeError(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

/** @internal Validate render options; errors name the option and the value. */
export function renderSettings(options: QrRenderOptions): RenderSettings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${String(options)}`);
  }
  const pool = options.pool ?? getDefaultPool();
  if (!(pool instanceof BufferPool)) {
    throw new TypeError(`options.pool must be a BufferPool, got ${String(pool)}`);
  }
  return {
    format: oneOf('options.format', options.format, FORMATS, 'png'),
    scale: intIn('options.scale', options.scale, 4, 1, MAX_SCALE),
    margin: intIn('options.margin', options.margin, 4, 0, MAX_MARGIN),
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
  const { outDir, write, signal } = options;
  if (outDir !== undefined && (typeof outDir !== 'string' || outDir === '')) {
    throw new TypeError(`options.outDir must be a non-empty string, got ${String(outDir)}`);
  }
  if (write !== undefined && (write === null || typeof write !== 'object')) {
    throw new TypeError(`options.write must be an object, got ${String(write)}`);
  }
  if (write !== undefined && 'signal' in write) {
    throw new TypeError('options.write.signal is not accepted: pass options.signal');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${String(signal)}`);
  }
  const workers =
    options.workers === undefined ? undefined : checkWorkers(options.workers, render.pool);
  const chunkSize = intIn('options.chunkSize', options.chunkSize, 16, 1, MAX_CONCURRENCY);
  // With workers, sixteen chunks in flight per thread: a chunk's results come back only after
  // its blocks were leased and filled, so a short window leaves the threads waiting.
  const concurrency =
    workers === undefined ? 8 : Math.min(MAX_CONCURRENCY, 16 * chunkSize * workers.max);
  return {
    ...render,
    concurrency: intIn('options.concurrency', options.concurrency, concurrency, 1, MAX_CONCURRENCY),
    workers,
    chunkSize,
    outDir,
    write: write ?? {},
    signal,
  };
}
