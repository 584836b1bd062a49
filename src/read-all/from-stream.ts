/**
 * Reading a Node `Readable` (including `http.IncomingMessage`) into a {@link BlockWriter}. Internal.
 *
 * @module
 */
import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { LengthMismatchError, LimitExceededError } from '../errors.js';
import type { BlockWriter } from './block-writer.js';
import { toBytes } from './bytes.js';
import { onEnd } from './stream-end.js';

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
 * Stop a source after a failure. An `IncomingMessage` that hit the limit or its declared length is
 * only paused: destroying it would destroy the socket, and the handler could no longer answer 413.
 * Everything else is destroyed (without an error, so no 'error' event goes unhandled).
 */
export function stopStream(stream: Readable, reason: unknown): void {
  const answerable =
    stream instanceof IncomingMessage &&
    (reason instanceof LimitExceededError || reason instanceof LengthMismatchError);
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
    let settled = false;
    let busy = false;
    let ended = false;
    let paused = false;
    const backlog: Uint8Array[] = [];

    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      stopFinished();
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve();
      } else {
        stopStream(stream, err);
        reject(err);
      }
    };
    const store = (bytes: Uint8Array): void => {
      let pending: Promise<void> | undefined;
      try {
        pending = writer.write(bytes);
      } catch (err) {
        finish(err);
        return;
      }
      if (pending === undefined) return;
      busy = true;
      pending.then(afterBlock, finish);
    };
    const afterBlock = (): void => {
      busy = false;
      while (backlog.length > 0 && !busy && !settled) store(backlog.shift() as Uint8Array);
      if (busy || settled) return;
      if (ended) finish();
      else if (paused) {
        paused = false;
        stream.resume();
      }
    };
    const onData = (chunk: unknown): void => {
      if (settled) return;
      let bytes: Uint8Array;
      try {
        bytes = toBytes(chunk);
      } catch (err) {
        finish(err);
        return;
      }
      if (!busy) {
        store(bytes);
        return;
      }
      // A block is being leased. Usually that takes a microtask and no chunk arrives meanwhile;
      // when one does (flow() emits buffered chunks back to back, or the pool makes us wait), keep
      // it and pause the source until the block is there. pause() only stops later events.
      backlog.push(bytes);
      if (!paused) {
        paused = true;
        stream.pause();
      }
    };
    const onAbort = (): void => finish(signal?.reason);

    if (signal?.aborted) {
      finish(signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    const stopFinished = onEnd(stream, (err) => {
      if (err) {
        finish(err);
        return;
      }
      ended = true;
      if (!busy) finish();
    });
    stream.on('data', onData);
  });
}
