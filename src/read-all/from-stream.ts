/**
 * Reading a Node `Readable` (including `http.IncomingMessage`) into a {@link BlockWriter}. Internal.
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
import type { BlockWriter } from './block-writer.js';
import { StreamDrain } from './stream-drain.js';

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

/**
 * Feed `stream` into `writer` until it ends. 'data' events deliver the source's chunks as they are
 * (`read()` would concatenate buffered chunks into a new Buffer); the stream is paused only while
 * a new block is being leased and chunks arrive meanwhile. Rejects with the source's error, the
 * writer's limit/length errors, a `TypeError` for non-byte chunks, or `signal.reason`; the source
 * is stopped on every failure.
 */
export function drainStream(
  stream: Readable,
  writer: BlockWriter,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    new StreamDrain(stream, writer, signal, (err) => {
      if (err === undefined) {
        resolve();
      } else {
        stopStream(stream, err);
        reject(err);
      }
    }).start();
  });
}
