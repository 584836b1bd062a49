/**
 * Decompression into pooled leases with bomb limits: `gunzip`, `inflate`, `brotliDecompress`,
 * `decompress`, and the streaming `createDecompressStream`.
 *
 * @module
 */

import { stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Lease } from '../pool/index.js';
import { readAll } from '../read-all/index.js';
import {
  abandonSource,
  bytesOf,
  chunksOf,
  classifySource,
  FileReadable,
  type SourceChunks,
  takeReadable,
} from '../source/index.js';
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

const INPUT_KINDS = ['bytes', 'path', 'readable', 'web', 'iterable'] as const;

async function run(
  format: CompressionFormat,
  input: DecompressInput,
  options: DecompressOptions,
): Promise<Lease> {
  const limits = resolveLimits(options);
  const pool = resolvePool(options);
  const source = classifySource(input, 'input', INPUT_KINDS);
  if (source.kind === 'readable') takeReadable(source.value);
  // Before a path is opened: a stream made here would never be read, so never closed (an fd per call).
  if (limits.signal?.aborted === true) {
    abandonSource(source, limits.signal.reason);
    throw limits.signal.reason;
  }
  // The signal goes to readAll only: it destroys the decompressor, and pipeline the source.
  const stream = new DecompressStream(format, {
    maxOutputBytes: limits.maxOutputBytes,
    maxRatio: limits.maxRatio,
  });
  // pipeline destroys the source when the decompressor stops (limit, abort, corrupt input);
  // readAll reports the error, so its callback has nothing left to do.
  let file: FileReadable | undefined;
  let chunks: SourceChunks | undefined;
  if (source.kind === 'bytes') {
    const bytes = bytesOf(source.value);
    stream.setInputBytes(bytes.length);
    // readAll attaches its listeners after an await; until then an early 'error' must not crash.
    stream.on('error', noop);
    stream.end(bytes);
  } else if (source.kind === 'path') {
    // The whole file's size bounds the ratio; a FIFO or device (no size) counts as it is read.
    const size = await stat(source.value).then(
      (st) => (st.isFile() ? st.size : 0),
      () => 0,
    );
    stream.setInputBytes(size);
    // Opened as readAll opens a path, so a FIFO's pending read ends as soon as pipeline destroys it.
    file = new FileReadable(source.value);
    pipeline(file, stream, noop);
  } else if (source.kind === 'readable') {
    pipeline(source.value, stream, noop);
  } else {
    // pipeline ends an iteration only once its pending next() settles; chunksOf's return() stops
    // the source at once (a stalled web stream is cancelled with the error).
    chunks = chunksOf(source);
    pipeline(chunks, stream, noop);
  }
  const { signal } = limits;
  const read = readAll(stream, {
    pool,
    maxBytes: limits.maxOutputBytes,
    ...(signal === undefined ? {} : { signal }),
  });
  if (chunks !== undefined) {
    const iterated = chunks;
    return read.catch((err: unknown) => {
      iterated.return(err);
      throw err;
    });
  }
  if (file === undefined) return read;
  // A file slabio opened is closed before the call settles. Destroyed here because zlib may end
  // its output before the input ends (inflate stops at the end of the deflate stream), leaving the
  // rest of a FIFO unread and open; on failure pipeline has destroyed it already.
  const opened = file;
  return read.finally(() => opened.closeNow());
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
