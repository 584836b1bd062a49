/**
 * Decompression into pooled leases with bomb limits: `gunzip`, `inflate`, `brotliDecompress`,
 * `decompress`, and the streaming `createDecompressStream`.
 *
 * @module
 */
import { pipeline, type Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Lease } from '../pool/index.js';
import { FileReadable } from '../read-all/file-readable.js';
import { readAll } from '../read-all/index.js';
import { DecompressStream } from './decompress-stream.js';
import {
  type CompressionFormat,
  checkFormat,
  type DecompressAnyOptions,
  type DecompressOptions,
  resolveLimits,
  resolvePool,
} from './options.js';

export { createDecompressStream, DecompressStream } from './decompress-stream.js';
export {
  type CompressionFormat,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_MAX_RATIO,
  type DecompressAnyOptions,
  type DecompressLimits,
  type DecompressOptions,
  type DecompressStreamOptions,
  RATIO_GRACE_BYTES,
} from './options.js';

/**
 * What the decompression helpers read: the compressed bytes themselves (a `Buffer`/`Uint8Array`
 * or a {@link Lease}, only read, never released), or a stream of them — a Node `Readable`, an
 * async iterable of bytes, a web `ReadableStream`, or a file path.
 */
export type DecompressInput =
  | Uint8Array
  | Lease
  | Readable
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | WebReadableStream<Uint8Array>
  | string
  | URL;

function noop(): void {}

function isObject(value: unknown): value is Record<string | symbol, unknown> {
  return typeof value === 'object' && value !== null;
}

type InputKind = 'bytes' | 'path' | 'readable' | 'web' | 'iterable';

/** What `input` is, without opening or reading anything; `null` when it is none of them. */
function kindOf(input: unknown): InputKind | null {
  if (input instanceof Uint8Array || input instanceof Lease) return 'bytes';
  if (typeof input === 'string' || input instanceof URL) return 'path';
  if (!isObject(input)) return null;
  if (typeof input.pipe === 'function' && typeof input.on === 'function') return 'readable';
  if (typeof input.getReader === 'function') return 'web';
  if (typeof input[Symbol.asyncIterator] === 'function') return 'iterable';
  return null;
}

/**
 * The input as bytes, or as something `pipeline` reads. A path is opened as `readAll` opens one,
 * so a FIFO's pending read ends as soon as the pipeline destroys the stream.
 */
function open(
  kind: InputKind,
  input: DecompressInput,
): Uint8Array | Readable | AsyncIterable<unknown> {
  switch (kind) {
    case 'bytes':
      return input instanceof Lease ? input.buffer : (input as Uint8Array);
    case 'path':
      return new FileReadable(input as string | URL);
    case 'web':
      // Web streams are async iterable: pipeline reads them without an intermediate Readable
      // buffer and, on failure, ends the iteration, which cancels the stream.
      return input as unknown as AsyncIterable<unknown>;
    default:
      return input as unknown as Readable | AsyncIterable<unknown>;
  }
}

/**
 * Give up on a caller's stream as `pipeline` would on abort: destroy a Readable, cancel a web
 * stream, end an iterator. Bytes and paths have nothing open yet.
 */
function discard(kind: InputKind, input: DecompressInput, reason: unknown): void {
  if (kind === 'readable') (input as { destroy?: () => void }).destroy?.();
  else if (kind === 'web') (input as ReadableStream).cancel(reason).catch(noop);
  else if (kind === 'iterable') {
    const it = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    it.return?.().catch(noop);
  }
}

async function run(
  format: CompressionFormat,
  input: DecompressInput,
  options: DecompressOptions,
): Promise<Lease> {
  const limits = resolveLimits(options);
  const pool = resolvePool(options);
  const kind = kindOf(input);
  if (kind === null) {
    const what = isObject(input) ? (input.constructor?.name ?? 'object') : typeof input;
    throw new TypeError(
      `input must be a Buffer, Uint8Array, Lease, Readable, async iterable, ReadableStream or path, got ${what}`,
    );
  }
  // Before a path is opened: a stream made here would never be read, so never closed (an fd per call).
  if (limits.signal?.aborted === true) {
    discard(kind, input, limits.signal.reason);
    throw limits.signal.reason;
  }
  const source = open(kind, input);
  // The signal goes to readAll only: it destroys the decompressor, and pipeline the source.
  const stream = new DecompressStream(format, {
    maxOutputBytes: limits.maxOutputBytes,
    maxRatio: limits.maxRatio,
  });
  if (source instanceof Uint8Array) {
    // readAll attaches its listeners after an await; until then an early 'error' must not crash.
    stream.on('error', noop);
    stream.end(source);
  } else {
    // pipeline destroys the source when the decompressor stops (limit, abort, corrupt input);
    // readAll reports the error, so the callback has nothing left to do.
    pipeline(source, stream, noop);
  }
  const { signal } = limits;
  const read = readAll(stream, {
    pool,
    maxBytes: limits.maxOutputBytes,
    ...(signal === undefined ? {} : { signal }),
  });
  if (!(source instanceof FileReadable)) return read;
  // A file slabio opened is closed before the call settles. Destroyed here because zlib may end
  // its output before the input ends (inflate stops at the end of the deflate stream), leaving the
  // rest of a FIFO unread and open; on failure pipeline has destroyed it already.
  return read.finally(() => source.closeNow());
}

/**
 * Decompress `input` in `options.format` into one pooled lease. The output is counted as it is
 * produced and reading stops at `maxOutputBytes` or `maxRatio`, so memory stays within the limit
 * whatever the input declares; the source is destroyed and every block released on failure.
 *
 * @param input Compressed bytes, a lease (read, not released) or a stream/path of them.
 * @param options `format` plus {@link DecompressOptions}.
 * @default options `{ maxOutputBytes: 64 MiB, maxRatio: 100, pool: getDefaultPool() }`
 * @throws {TypeError|RangeError} for a bad input kind, format or option, naming it; a `TypeError`
 * (the source destroyed) for a chunk that is neither bytes nor a string (read as UTF-8).
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` past `maxOutputBytes` or `maxRatio` (a bomb).
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for corrupt, truncated or empty input; `cause` is zlib's error.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @throws the source's own error, or `signal.reason` on abort.
 * @example
 * ```ts
 * using body = await decompress(req, { format: 'brotli', maxOutputBytes: 8 << 20 });
 * ```
 */
export function decompress(input: DecompressInput, options: DecompressAnyOptions): Promise<Lease> {
  try {
    if (!isObject(options)) throw new TypeError('options.format is required');
    return run(checkFormat(options.format, 'options.format'), input, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Gunzip (RFC 1952; concatenated members are read as one) into a pooled lease. See
 * {@link decompress} for limits, errors and ownership.
 *
 * @default options `{ maxOutputBytes: 64 MiB, maxRatio: 100, pool: getDefaultPool() }`
 * @throws as {@link decompress}: `ERR_SLABIO_LIMIT` for a bomb, `ERR_SLABIO_BAD_INPUT` for bad data.
 * @example
 * ```ts
 * import { gunzip } from 'slabio';
 * using json = await gunzip(fs.createReadStream('events.json.gz'), { maxOutputBytes: 32 << 20 });
 * const events = JSON.parse(json.buffer.toString('utf8'));
 * ```
 */
export function gunzip(input: DecompressInput, options: DecompressOptions = {}): Promise<Lease> {
  return run('gzip', input, options);
}

/**
 * Inflate zlib-wrapped deflate data (RFC 1950, what `zlib.deflate` and HTTP
 * `content-encoding: deflate` produce) into a pooled lease. For raw deflate use
 * `decompress(input, { format: 'deflate-raw' })`. See {@link decompress}.
 *
 * @default options `{ maxOutputBytes: 64 MiB, maxRatio: 100, pool: getDefaultPool() }`
 * @throws as {@link decompress}.
 * @example
 * ```ts
 * using data = await inflate(compressed, { maxOutputBytes: 1 << 20, maxRatio: 50 });
 * ```
 */
export function inflate(input: DecompressInput, options: DecompressOptions = {}): Promise<Lease> {
  return run('deflate', input, options);
}

/**
 * Decompress brotli (RFC 7932) into a pooled lease. Brotli reaches ratios far beyond deflate's
 * ~1032:1 on repeated bytes, so `maxRatio` matters most here. See {@link decompress}.
 *
 * @default options `{ maxOutputBytes: 64 MiB, maxRatio: 100, pool: getDefaultPool() }`
 * @throws as {@link decompress}.
 * @example
 * ```ts
 * using page = await brotliDecompress(res.body, { maxOutputBytes: 4 << 20, signal });
 * ```
 */
export function brotliDecompress(
  input: DecompressInput,
  options: DecompressOptions = {},
): Promise<Lease> {
  return run('brotli', input, options);
}
