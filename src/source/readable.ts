/**
 * Node `Readable` sources: what their length is, whether they can be read, and letting go of
 * one. Internal.
 *
 * @module
 */
import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import {
  LengthMismatchError,
  LimitExceededError,
  PoolExhaustedError,
  SlabioTimeoutError,
} from '../errors.js';
import { absorbErrors } from './stream-end.js';

/**
 * Refuse a stream that cannot be read, before anything is attached to it (the stream is left as
 * it is): one already read to its end, whose bytes are gone (an empty result would pass a
 * consumed request body off as an empty one), and one with a 'readable' listener, which keeps a
 * stream paused whatever 'data' listeners and `resume()` do, so the read would never progress.
 * A stream that failed or was destroyed before its end is read, so the read reports its error
 * (or a premature close) as it would have while reading.
 * @throws {TypeError} when `stream` has already ended or has a 'readable' listener.
 */
export function checkFlowable(stream: Readable): void {
  if (stream.errored != null || (stream.destroyed && stream.readableEnded !== true)) return;
  if (stream.readableEnded === true) {
    throw new TypeError(
      'source has already ended: its bytes were read before (for await, pipe, another reader); pass a stream that has not been read',
    );
  }
  if (typeof stream.listenerCount === 'function' && stream.listenerCount('readable') > 0) {
    throw new TypeError(
      "source has a 'readable' listener, which keeps it paused: remove it before reading the stream",
    );
  }
}

/**
 * Take a stream to read: refuse it as {@link checkFlowable} does, else give it the 'error'
 * listener of {@link absorbErrors}, synchronously, before the caller's first await.
 * @throws {TypeError} when `stream` cannot be read.
 */
export function takeReadable(stream: Readable): void {
  checkFlowable(stream);
  absorbErrors(stream);
}

/** The `content-length` of an incoming message, when it is the body's length. */
export function declaredLength(stream: Readable): number | undefined {
  if (!(stream instanceof IncomingMessage)) return undefined;
  const { headers } = stream;
  // RFC 9112 §6.3: with Transfer-Encoding present, Content-Length is not the body's length.
  if (headers['transfer-encoding'] !== undefined) return undefined;
  const value = headers['content-length'];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Stop a source after a failure. An `IncomingMessage` that hit the limit or its declared length,
 * or whose body the pool could not lend memory for (`ERR_SLABIO_POOL_EXHAUSTED`, a wait's
 * `ERR_SLABIO_TIMEOUT`), is only paused: destroying it would destroy the socket, and the handler
 * could no longer answer 413 or 503.
 * Everything else is destroyed (without an error, so no 'error' event goes unhandled).
 */
export function stopStream(stream: Readable, reason: unknown): void {
  const answerable =
    stream instanceof IncomingMessage &&
    (reason instanceof LimitExceededError ||
      reason instanceof LengthMismatchError ||
      reason instanceof PoolExhaustedError ||
      reason instanceof SlabioTimeoutError);
  if (answerable) {
    stream.pause();
    return;
  }
  // Its _destroy may still fail (an fd that does not close) and emit 'error' after we let go.
  absorbErrors(stream);
  stream.destroy();
}
