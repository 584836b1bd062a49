/**
 * Sources read as iterators: one iterator per source kind, and one way to give up on one.
 * Internal.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { stopStream } from './readable.js';
import { absorbErrors } from './stream-end.js';
import { WebChunks, type WebStream } from './web-chunks.js';

function noop(): void {}

/** What `value` is, for a `TypeError`: `null`, its class name, or its `typeof`. */
export function valueKind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/**
 * The iterator of an async or sync iterable (async first).
 * @throws {TypeError} naming `name` when `value` is neither.
 */
export function iteratorOf<T>(
  value: Iterable<T> | AsyncIterable<T>,
  name: string,
): AsyncIterator<T> | Iterator<T> {
  if (typeof value === 'object' && value !== null) {
    if (Symbol.asyncIterator in value) return value[Symbol.asyncIterator]();
    if (Symbol.iterator in value) return value[Symbol.iterator]();
  }
  throw new TypeError(`${name} must be an iterable or an async iterable, got ${valueKind(value)}`);
}

/**
 * Tell an iterator we stopped reading it, without waiting for it and without letting it throw.
 * Not awaited: an async generator stuck in a pending `next()` runs its `finally` blocks only once
 * that resolves. `reason` goes to `return()`, where a web stream takes it as the cancel reason.
 */
export function abandonIterator(
  iterator: AsyncIterator<unknown> | Iterator<unknown>,
  reason?: unknown,
): void {
  try {
    const result: unknown = iterator.return?.(reason);
    if (result instanceof Promise) result.catch(noop);
  } catch {
    // An iterator whose return() throws has nothing more we could ask of it.
  }
}

/**
 * A stream source opened for reading as chunks. `return(reason)` stops the source at once where
 * its kind allows: a `Readable` is stopped (see `stopStream`), a web stream cancelled with
 * `reason` even while a read is pending, an iterator's `return()` called without waiting.
 */
export interface SourceChunks extends AsyncIterableIterator<unknown> {
  next(): Promise<IteratorResult<unknown>>;
  return(reason?: unknown): Promise<IteratorResult<unknown>>;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** An iterator under a `return()` that stops `stop` first. */
function stoppable(
  iterator: AsyncIterator<unknown>,
  stop: (reason: unknown) => void,
): SourceChunks {
  return {
    next: () => iterator.next(),
    return(reason) {
      stop(reason);
      abandonIterator(iterator, reason);
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A Readable's chunks (its own async iterator; an old-style stream through `wrap()`). */
export function readableChunks(stream: Readable): SourceChunks {
  absorbErrors(stream);
  // The iterator must not destroy the stream on return(): stopStream decides, so an
  // IncomingMessage refused for its size is paused and its handler can still answer 413.
  const iterator: AsyncIterator<unknown> =
    typeof stream.iterator === 'function'
      ? stream.iterator({ destroyOnReturn: false })
      : new Readable({ objectMode: true }).wrap(stream).iterator({ destroyOnReturn: false });
  return stoppable(iterator, (reason) => stopStream(stream, reason));
}

/** A web stream's chunks, cancelled at once by `return()` (see {@link WebChunks}). */
export function webChunks(stream: WebStream): SourceChunks {
  return new WebChunks(stream);
}

/** An async iterable's chunks, through one iterator made now. */
export function iterableChunks(iterable: AsyncIterable<unknown>): SourceChunks {
  return stoppable(iterable[Symbol.asyncIterator](), noop);
}
