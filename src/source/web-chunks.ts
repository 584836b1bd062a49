/**
 * Iterating a web `ReadableStream` so that giving up cancels it at once. Internal.
 *
 * @module
 */
import type { ReadableStreamDefaultReader } from 'node:stream/web';

/** The one web stream type the readers need: `getReader()` (global and `node:stream/web` alike). */
export interface WebStream {
  readonly locked: boolean;
  getReader(): unknown;
  cancel(reason?: unknown): Promise<void>;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A web stream's chunks through one reader. Web streams are async iterable on Node ≥ 20 (byte
 * streams and `fetch` bodies included), but their iterator's `return()` waits for a pending
 * `next()` to settle before it cancels (the WebIDL async iterator queues it): a stalled stream
 * aborted mid-read would never be cancelled, and a `fetch` body would keep its connection.
 * `return(reason)` here cancels through the reader at once, which also ends the pending read, and
 * releases the lock; so do the end of the stream and an error from it. Streams without
 * `Symbol.asyncIterator` (another realm, a polyfill) read the same way.
 */
export class WebChunks implements AsyncIterableIterator<unknown> {
  #reader: ReadableStreamDefaultReader<unknown> | null;
  /** The stream's error once it errored: every later `next()` rejects with it, as a read would. */
  #failure: { error: unknown } | null = null;

  /** @throws {TypeError} from `getReader()` when the stream is locked. */
  constructor(stream: WebStream) {
    const reader = stream.getReader() as ReadableStreamDefaultReader<unknown>;
    this.#reader = reader;
    // The lock goes when the stream closes or errors. `closed` settles before the read that sees
    // the end or the error does (ReadableStreamClose / ReadableStreamError settle it first), so
    // the lock is gone by the time the reader of the chunks learns of it, without a promise per
    // read wrapped around `read()`.
    reader.closed.then(this.#release, (error: unknown) => {
      if (this.#reader !== null) this.#failure = { error };
      this.#release();
    });
  }

  next(): Promise<IteratorResult<unknown>> {
    const reader = this.#reader;
    if (reader !== null) return reader.read();
    return this.#failure === null ? Promise.resolve(DONE) : Promise.reject(this.#failure.error);
  }

  /** Cancel the stream with `reason` (unless it already ended) and release the lock. */
  return(reason?: unknown): Promise<IteratorResult<unknown>> {
    const reader = this.#reader;
    if (reader !== null) {
      // cancel() runs the source's cancel algorithm synchronously and resolves a pending read.
      reader.cancel(reason).catch(() => {});
      this.#release();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  readonly #release = (): void => {
    const reader = this.#reader;
    this.#reader = null;
    reader?.releaseLock();
  };
}
