/**
 * Reading a Node `Readable` (including `http.IncomingMessage`) into a {@link BlockWriter}.
 * Internal; `renderPdf` reads pdfkit's document through it too.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import { onEnd, stopStream, toBytes } from '../source/index.js';
import type { BlockWriter } from './block-writer.js';

/**
 * Feed `stream` into `writer` until it ends. 'data' events deliver the source's chunks as they are
 * (`read()` would concatenate buffered chunks into a new Buffer); the stream is paused only while
 * a new block is being leased and chunks arrive meanwhile. Rejects with the source's error, the
 * writer's limit/length errors, a `TypeError` for non-byte chunks, or `signal.reason`; the source
 * is stopped on every failure (see `stopStream`).
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

/**
 * Moves a stream's 'data' chunks into a writer and calls `done` once: with no argument at the
 * end, or with the error (source error, limit, length, non-bytes chunk, abort reason).
 */
class StreamDrain {
  readonly #stream: Readable;
  readonly #writer: BlockWriter;
  readonly #signal: AbortSignal | undefined;
  readonly #done: (err?: unknown) => void;
  #settled = false;
  /** A block is being leased; chunks go to the backlog meanwhile. */
  #busy = false;
  #ended = false;
  #paused = false;
  readonly #backlog: Uint8Array[] = [];
  #stopEnd: () => void = () => {};

  constructor(
    stream: Readable,
    writer: BlockWriter,
    signal: AbortSignal | undefined,
    done: (err?: unknown) => void,
  ) {
    this.#stream = stream;
    this.#writer = writer;
    this.#signal = signal;
    this.#done = done;
  }

  start(): void {
    const signal = this.#signal;
    if (signal?.aborted) {
      this.#finish(signal.reason);
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#stopEnd = onEnd(this.#stream, (err) => {
      if (err) {
        this.#finish(err);
        return;
      }
      this.#ended = true;
      if (!this.#busy) this.#finish();
    });
    this.#stream.on('data', this.#onData);
    // A 'data' listener starts only a stream that was never paused (readableFlowing null). One
    // paused before it was handed over (pause(), unpipe()) would wait forever, and so would we.
    this.#stream.resume();
  }

  readonly #onAbort = (): void => this.#finish(this.#signal?.reason);

  readonly #onData = (chunk: unknown): void => {
    if (this.#settled) return;
    let bytes: Uint8Array;
    try {
      bytes = toBytes(chunk);
    } catch (err) {
      this.#finish(err);
      return;
    }
    try {
      // Counted on arrival, so a limit is hit even by chunks that must wait in the backlog.
      this.#writer.admit(bytes.length);
    } catch (err) {
      this.#finish(err);
      return;
    }
    if (!this.#busy) {
      this.#store(bytes);
      return;
    }
    // A block is being leased. Usually that takes a microtask and no chunk arrives meanwhile;
    // when one does (flow() emits buffered chunks back to back, or the pool makes us wait), keep
    // it and pause the source until the block is there. pause() only stops later events.
    this.#backlog.push(bytes);
    if (!this.#paused) {
      this.#paused = true;
      this.#stream.pause();
    }
  };

  #store(bytes: Uint8Array): void {
    const pending = this.#writer.store(bytes);
    if (pending === undefined) return;
    this.#busy = true;
    pending.then(this.#afterBlock, (err: unknown) => this.#finish(err));
  }

  readonly #afterBlock = (): void => {
    this.#busy = false;
    while (this.#backlog.length > 0 && !this.#busy && !this.#settled) {
      this.#store(this.#backlog.shift() as Uint8Array);
    }
    if (this.#busy || this.#settled) return;
    if (this.#ended) this.#finish();
    else if (this.#paused) {
      this.#paused = false;
      this.#stream.resume();
    }
  };

  #finish(err?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#stream.removeListener('data', this.#onData);
    this.#stopEnd();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#done(err);
  }
}
