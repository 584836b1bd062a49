/**
 * Reading async iterables and web `ReadableStream`s into a {@link BlockWriter}. Internal.
 *
 * @module
 */
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { abortRace, raced } from '../abort.js';
import type { BlockWriter } from './block-writer.js';
import { toBytes } from './bytes.js';

/**
 * Feed an async iterable into `writer`. On failure the iterator's `return()` is called (which
 * runs an async generator's `finally` blocks); an abort rejects at once, even while `next()` is
 * still pending.
 */
/** Tell an iterable that was never read to clean up (a generator's `finally` blocks run). */
export function abandonIterable(source: AsyncIterable<unknown>): void {
  Promise.resolve()
    .then(() => source[Symbol.asyncIterator]().return?.())
    .catch(() => {});
}

/** Cancel a web stream that was never read, unless someone else holds its reader. */
export function abandonWebStream(
  source: WebReadableStream<unknown> | ReadableStream<unknown>,
  reason: unknown,
): void {
  if (!source.locked) source.cancel(reason).catch(() => {});
}

export async function drainIterable(
  source: AsyncIterable<unknown>,
  writer: BlockWriter,
  signal: AbortSignal | undefined,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  const abort = abortRace(signal);
  try {
    signal?.throwIfAborted();
    for (;;) {
      const step = await raced(iterator.next(), abort.promise);
      if (step.done) return;
      const pending = writer.write(toBytes(step.value));
      if (pending !== undefined) await raced(pending, abort.promise);
    }
  } catch (err) {
    // Not awaited: a generator stuck in a pending next() would only return after it resolves.
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {});
    throw err;
  } finally {
    abort.dispose();
  }
}

/** Feed a web `ReadableStream` into `writer`; on failure the stream is cancelled with the reason. */
export async function drainWebStream(
  source: WebReadableStream<unknown> | ReadableStream<unknown>,
  writer: BlockWriter,
  signal: AbortSignal | undefined,
): Promise<void> {
  const reader = (source as WebReadableStream<unknown>).getReader();
  const abort = abortRace(signal);
  try {
    signal?.throwIfAborted();
    for (;;) {
      const step = await raced(reader.read(), abort.promise);
      if (step.done) return;
      const pending = writer.write(toBytes(step.value));
      if (pending !== undefined) await raced(pending, abort.promise);
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    abort.dispose();
    reader.releaseLock();
  }
}
