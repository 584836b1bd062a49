/**
 * Pulling bytes from a Node `Readable` into a caller's buffer. Internal.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import { copyBytes, toBytes } from './chunks.js';
import { onEnd } from './stream-end.js';

/**
 * Reads a `Readable` into caller-supplied buffers: `readInto(target)` copies whatever the stream has
 * produced (at least one byte, waiting if need be) without concatenating its chunks first, as
 * `read()` would. The stream is paused while `highWaterMark` bytes wait here, so a slow consumer
 * holds at most that much of the source's memory.
 */
export class ReadableReader {
  readonly #stream: Readable;
  readonly #highWaterMark: number;
  readonly #queue: Uint8Array[] = [];
  /** Bytes of `#queue[0]` already handed out. */
  #head = 0;
  #queued = 0;
  #ended = false;
  #failed = false;
  #error: unknown;
  #wake: (() => void) | null = null;
  #closed = false;
  readonly #stopFinished: () => void;

  constructor(stream: Readable, highWaterMark: number) {
    this.#stream = stream;
    this.#highWaterMark = highWaterMark;
    this.#stopFinished = onEnd(stream, (err) => {
      if (err) this.#fail(err);
      else this.#ended = true;
      this.#wakeUp();
    });
    stream.on('data', this.#onData);
  }

  readonly #onData = (chunk: unknown): void => {
    let bytes: Uint8Array;
    try {
      bytes = toBytes(chunk);
    } catch (err) {
      this.#fail(err);
      this.#wakeUp();
      return;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued >= this.#highWaterMark) this.#stream.pause();
    this.#wakeUp();
  };

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = err;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Copy up to `target.length` bytes into `target`; resolves with the count, 0 at the end.
   * @throws the stream's error, or a `TypeError` for a chunk that is not bytes or a string.
   */
  async readInto(target: Buffer): Promise<number> {
    while (this.#queued === 0 || this.#failed) {
      if (this.#failed) throw this.#error;
      if (this.#ended) return 0;
      // A stream paused before it was handed over does not flow on a 'data' listener alone.
      this.#stream.resume();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      // Closed while waiting (the copy was abandoned): the target may already be back in the pool.
      if (this.#closed) return 0;
    }
    let n = 0;
    const queue = this.#queue;
    while (n < target.length && queue.length > 0) {
      const chunk = queue[0] as Uint8Array;
      const take = Math.min(chunk.length - this.#head, target.length - n);
      copyBytes(chunk, target, n, this.#head, this.#head + take);
      n += take;
      this.#head += take;
      if (this.#head === chunk.length) {
        queue.shift();
        this.#head = 0;
      }
    }
    this.#queued -= n;
    if (this.#queued < this.#highWaterMark) this.#stream.resume();
    return n;
  }

  /** Stop listening; destroy the stream (without an error event) when `destroy` is set. */
  close(destroy: boolean): void {
    this.#closed = true;
    this.#stream.removeListener('data', this.#onData);
    this.#stopFinished();
    this.#queue.length = 0;
    this.#queued = 0;
    if (destroy) this.#stream.destroy();
    this.#wakeUp();
  }
}
