/**
 * A decompressing `Duplex` that counts what goes in and what comes out and stops at the limits.
 *
 * @module
 */
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { debug } from '../debug.js';
import { BadInputError, LimitExceededError } from '../errors.js';
import { isChunk, notChunkError } from '../source/index.js';
import {
  type CompressionFormat,
  checkFormat,
  type DecompressStreamOptions,
  RATIO_GRACE_BYTES,
  type ResolvedLimits,
  resolveLimits,
} from './options.js';

// 64 KiB output chunks: a quarter of the calls zlib's 16 KiB default makes, still small enough
// that one chunk past a limit is a negligible overshoot before the stream is stopped.
const CHUNK_SIZE = 64 << 10;

type Inflater = zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress;

function createInflater(format: CompressionFormat): Inflater {
  switch (format) {
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK_SIZE });
    case 'deflate':
      return zlib.createInflate({ chunkSize: CHUNK_SIZE });
    case 'deflate-raw':
      return zlib.createInflateRaw({ chunkSize: CHUNK_SIZE });
    case 'brotli':
      return zlib.createBrotliDecompress({ chunkSize: CHUNK_SIZE });
  }
}

/**
 * Decompresses what is written to it and emits the output, refusing to produce more than the
 * limits allow: past `maxOutputBytes`, or past `maxRatio` × the compressed bytes zlib has consumed
 * so far (the whole input's size where it is known: bytes, a regular file) once beyond 1 MiB, it is destroyed with a {@link LimitExceededError} and the chunk that
 * crossed the limit is not emitted. Corrupt or truncated input destroys it with a
 * {@link BadInputError} whose `cause` is zlib's error.
 *
 * zlib honours backpressure inside one input chunk (it stops producing while the readable side is
 * full), so a bomb written as one small buffer still only inflates as fast as it is read: memory
 * stays at about two output chunks (64 KiB each) plus what the reader keeps.
 *
 * Create it with {@link createDecompressStream}.
 */
export class DecompressStream extends Duplex {
  readonly #format: CompressionFormat;
  readonly #limits: ResolvedLimits;
  readonly #inner: Inflater;
  #bytesOut = 0;
  #bytesIn = 0;
  #innerEnded = false;
  #inputBytes = 0;
  #pausedInner = false;
  #removeAbort: (() => void) | undefined;

  constructor(format: CompressionFormat, options: DecompressStreamOptions = {}) {
    const fmt = checkFormat(format);
    const limits = resolveLimits(options);
    super({ readableHighWaterMark: CHUNK_SIZE });
    this.#format = fmt;
    this.#limits = limits;
    const inner = createInflater(fmt);
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => this.#onData(chunk));
    inner.on('end', () => {
      this.#innerEnded = true;
      // zlib stops at the end of a deflate or brotli stream and ignores what follows (gunzip reads
      // the next member): bytes after it would vanish without a word, so they are refused.
      if (this.#trailing()) return;
      this.push(null);
    });
    inner.on('error', (err: Error) => {
      this.destroy(
        new BadInputError(`${fmt} data is corrupt or truncated: ${err.message}`, { cause: err }),
      );
    });
    const { signal } = limits;
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.destroy(signal.reason as Error);
      };
      if (signal.aborted) queueMicrotask(onAbort);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** The format being read. */
  get format(): CompressionFormat {
    return this.#format;
  }

  /** Compressed bytes zlib has consumed so far. */
  get bytesIn(): number {
    return this.#inner.bytesWritten;
  }

  /** Decompressed bytes emitted so far. */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  /**
   * @internal The whole input's size, when the caller knows it (bytes, a regular file): the ratio
   * is then that of the whole input, so a file that starts with a long run of zeros and ends with
   * incompressible data is not refused for its first megabytes.
   */
  setInputBytes(bytes: number): void {
    this.#inputBytes = bytes;
  }

  #onData(chunk: Buffer): void {
    if (this.destroyed) return;
    const out = this.#bytesOut + chunk.length;
    const { maxOutputBytes, maxRatio } = this.#limits;
    if (out > maxOutputBytes) {
      this.#stop(new LimitExceededError(maxOutputBytes, out, 'decompressed output'));
      return;
    }
    const consumed = Math.max(this.#inner.bytesWritten, this.#inputBytes);
    if (out > RATIO_GRACE_BYTES && out > maxRatio * consumed) {
      const limit = Math.max(RATIO_GRACE_BYTES, Math.floor(maxRatio * consumed));
      this.#stop(
        new LimitExceededError(
          limit,
          out,
          `decompressed output (max ratio ${maxRatio}:1 of ${consumed} compressed bytes)`,
        ),
      );
      return;
    }
    this.#bytesOut = out;
    if (!this.push(chunk)) {
      this.#pausedInner = true;
      this.#inner.pause();
    }
  }

  #stop(err: LimitExceededError): void {
    debug('%s decompression stopped: %s', this.#format, err.message);
    this.destroy(err);
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (isChunk(chunk)) {
      return super.write(chunk, encoding as BufferEncoding, cb as (err?: Error | null) => void);
    }
    this.#refuse(chunk, typeof encoding === 'function' ? encoding : cb);
    return false;
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    // Node's end(chunk) writes through an internal path, not this.write(): check here as well.
    if (chunk === undefined || chunk === null || typeof chunk === 'function' || isChunk(chunk)) {
      return super.end(chunk as never, encoding as never, cb as never);
    }
    this.#refuse(chunk, typeof encoding === 'function' ? encoding : cb);
    return this;
  }

  /** Fail as a write error does: destroy with the TypeError and hand it to the write callback. */
  #refuse(chunk: unknown, cb: unknown): void {
    const err = notChunkError(chunk);
    debug('%s decompression refused a chunk: %s', this.#format, err.message);
    this.destroy(err);
    if (typeof cb === 'function') process.nextTick(cb as (err: Error) => void, err);
  }

  override _read(): void {
    if (this.#pausedInner) {
      this.#pausedInner = false;
      this.#inner.resume();
    }
  }

  /** Refuse input zlib left unread after its stream ended; true when it did. */
  #trailing(): boolean {
    const extra = this.#bytesIn - this.#inner.bytesWritten;
    if (extra <= 0) return false;
    this.destroy(
      new BadInputError(
        `${this.#format} data has ${extra} byte${extra === 1 ? '' : 's'} after the end of the compressed stream`,
      ),
    );
    return true;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#bytesIn += chunk.length;
    if (this.#innerEnded) {
      if (!this.#trailing()) callback();
      return;
    }
    if (this.#inner.write(chunk)) callback();
    else this.#inner.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#removeAbort?.();
    this.#inner.destroy();
    callback(error);
  }
}

/**
 * A `Duplex` that decompresses `format` with limits: pipe compressed bytes in, read at most
 * `maxOutputBytes` decompressed bytes out. Use it to stream a compressed upload to a file;
 * to collect the output into a lease, use {@link gunzip} / {@link inflate} /
 * {@link brotliDecompress} / {@link decompress}.
 *
 * @param format `'gzip'`, `'deflate'`, `'deflate-raw'` or `'brotli'`.
 * @param options `maxOutputBytes` (default 64 MiB), `maxRatio` (default 100), `signal`.
 * @throws {TypeError|RangeError} (synchronously) for a bad format or option, naming it.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` (as `'error'`) past `maxOutputBytes` or `maxRatio`.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` (as `'error'`) for corrupt or truncated input.
 * @throws {TypeError} (as `'error'`, never from `write()`) for a chunk that is not bytes or a string.
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createDecompressStream, createNoCacheWriteStream } from 'slabio';
 * await pipeline(req, createDecompressStream('gzip', { maxOutputBytes: 1 << 30 }),
 *   createNoCacheWriteStream('upload.bin', { atomic: true }));
 * ```
 */
export function createDecompressStream(
  format: CompressionFormat,
  options?: DecompressStreamOptions,
): DecompressStream {
  return new DecompressStream(format, options);
}
