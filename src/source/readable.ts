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

/**
 * Refuse a stream that 'data' listeners and `resume()` cannot start: with a 'readable' listener
 * Node keeps a stream paused whatever they do, so the read would never progress. The stream is
 * left as it is.
 * @throws {TypeError} when `stream` has a 'readable' listener.
 */
export function checkFlowable(stream: Readable): void {
  if (typeof stream.listenerCount === 'function' && stream.listenerCount('readable') > 0) {
    throw new TypeError(
      "source has a 'readable' listener, which keeps it paused: remove it before reading the stream",
    );
  }
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
  if (answerable) stream.pause();
  else stream.destroy();
}
