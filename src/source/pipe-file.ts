/**
 * Reading a FIFO (or socket) descriptor through the event loop instead of the thread pool.
 * Internal.
 *
 * @module
 */
import net from 'node:net';
import { ClosedError } from '../errors.js';
import type { OpenedFile } from './open-file.js';

/** Bytes taken from the kernel per read: a Linux pipe's default capacity. */
const SCRATCH_BYTES = 64 * 1024;

interface PendingRead {
  readonly buffer: Buffer;
  readonly offset: number;
  readonly length: number;
  resolve(n: number): void;
  reject(err: unknown): void;
}

/**
 * A FIFO read as a libuv stream: `fs.read` on an empty FIFO blocks a thread-pool thread until a
 * writer writes or closes, and cannot be cancelled, while a stream handle waits in epoll and is
 * cancelled by closing it. `net.Socket` with `fd` is Node's public way to get that handle (a
 * `Pipe` for FIFOs and Unix sockets; other descriptor types throw `ERR_INVALID_FD_TYPE`).
 *
 * Linux semantics relied on (pipe_poll, fifo_open): a FIFO opened `O_RDONLY | O_NONBLOCK` with no
 * writer reports neither data nor hang-up until a writer has come, so the read waits for one as a
 * blocking `open` would; once every writer has closed, it reports hang-up and the read ends.
 *
 * Reads are pulled one at a time: the socket's `onread` buffer is one scratch buffer, each chunk
 * the kernel delivers is copied into the caller's buffer and reading stops until the next `read`,
 * so at most one scratch buffer of data is taken from the FIFO ahead of the caller.
 */
export class PipeFile implements OpenedFile {
  readonly fd: number;
  readonly position = null;
  readonly size = undefined;
  readonly #socket: net.Socket;
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  readonly #signal: AbortSignal | undefined;
  readonly #closed: Promise<void>;
  /** Bytes of `#scratch` received but not yet handed out: `[#head, #tail)`. */
  #head = 0;
  #tail = 0;
  #ended = false;
  #failure: { error: unknown } | null = null;
  #pending: PendingRead | null = null;
  /** Callers of `readable()` waiting for the next chunk, the end or a failure. */
  readonly #waiters: (() => void)[] = [];

  /**
   * Takes ownership of `fd` (closing the socket closes it).
   * @throws {Error} `ERR_INVALID_FD_TYPE` for a descriptor libuv cannot read as a stream.
   */
  constructor(fd: number, signal: AbortSignal | undefined) {
    this.fd = fd;
    this.#signal = signal;
    // `onread` is a constructor option in Node's docs; @types/node 20 lists it under ConnectOpts.
    const options: net.SocketConstructorOpts & Pick<net.ConnectOpts, 'onread'> = {
      fd,
      readable: true,
      writable: false,
      onread: { buffer: this.#scratch, callback: this.#onRead },
    };
    const socket = new net.Socket(options);
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('end', this.#onEnd);
    socket.on('error', this.#fail);
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  read(buffer: Buffer, offset: number, length: number): Promise<number> {
    if (this.#head < this.#tail) return Promise.resolve(this.#take(buffer, offset, length));
    if (this.#failure !== null) return Promise.reject(this.#failure.error);
    if (this.#ended || length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.#pending = { buffer, offset, length, resolve, reject };
      // Restarts the handle's reading, stopped after the previous chunk (onread returned false).
      this.#socket.resume();
    });
  }

  readonly readable = (): Promise<void> => {
    if (this.#head < this.#tail || this.#failure !== null || this.#ended) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#socket.resume();
    });
  };

  /** Stop a pending read (it rejects with `ClosedError`), close the descriptor and wait for it. */
  async close(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#failure === null) this.#fail(new ClosedError('file'));
    await this.#closed;
  }

  #take(buffer: Buffer, offset: number, length: number): number {
    const n = Math.min(length, this.#tail - this.#head);
    this.#scratch.copy(buffer, offset, this.#head, this.#head + n);
    this.#head += n;
    return n;
  }

  /** A chunk landed in `#scratch`; returning false stops the handle reading until `read()`. */
  readonly #onRead = (n: number): boolean => {
    this.#head = 0;
    this.#tail = n;
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      pending.resolve(this.#take(pending.buffer, pending.offset, pending.length));
    }
    this.#wake();
    return false;
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve(0);
    this.#wake();
  };

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  readonly #onAbort = (): void => this.#fail(this.#signal?.reason);

  /** Reject the pending read and every later one with `error`; close the descriptor now. */
  readonly #fail = (error: unknown): void => {
    if (this.#failure === null) this.#failure = { error };
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(this.#failure.error);
    this.#wake();
    this.#socket.destroy();
  };
}
