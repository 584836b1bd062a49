/**
 * Reading a character device (a terminal, `/dev/kmsg`, an input device) without parking a
 * thread-pool thread in the kernel. Internal.
 *
 * @module
 */
import { ClosedError } from '../errors.js';
import { closeFd, readFd } from './fd-calls.js';
import type { OpenedFile } from './open-file.js';

/** First wait after a read found no data, doubled after each empty read up to the cap. */
export const FIRST_WAIT_MS = 1;
/**
 * The longest wait between reads of an idle device. It bounds how late data is seen, not how late
 * an abort is (that ends the wait at once); 20 non-blocking reads a second cost next to nothing.
 */
export const MAX_WAIT_MS = 50;

/** A non-blocking read that found no data. */
export function wouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/**
 * A character device opened with `O_NONBLOCK`, read with `fs.read`: a read with no data fails at
 * once with `EAGAIN` instead of blocking a thread-pool thread, and is retried after a short
 * wait. Node offers no event-loop handle for most of these (libuv classes them as files), so
 * waiting is a timer, the same for terminals (which `tty.ReadStream` could poll) as for the
 * rest. Devices that
 * always have data (`/dev/zero`, `/dev/urandom`) never wait; at their end (`/dev/null`) a read
 * returns 0 as usual.
 */
export class DeviceFile implements OpenedFile {
  readonly fd: number;
  readonly position = null;
  readonly size = undefined;
  readonly #signal: AbortSignal | undefined;
  #closed = false;
  #inflight: Promise<unknown> | null = null;
  #wake: (() => void) | null = null;

  /** Takes ownership of `fd`, which must have been opened with `O_NONBLOCK`. */
  constructor(fd: number, signal: AbortSignal | undefined) {
    this.fd = fd;
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<number> {
    let wait = FIRST_WAIT_MS;
    for (;;) {
      this.#check();
      const read = readFd(this.fd, buffer, offset, length, null);
      this.#inflight = read.catch(() => {});
      try {
        return await read;
      } catch (err) {
        if (!wouldBlock(err)) throw err;
      } finally {
        this.#inflight = null;
      }
      this.#check();
      await this.#sleep(wait);
      wait = Math.min(wait * 2, MAX_WAIT_MS);
    }
  }

  /** End a wait between reads, let a read in flight return (it cannot block), close the fd. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#wake?.();
    await this.#inflight;
    await closeFd(this.fd);
  }

  /** @throws `signal.reason` after an abort, {@link ClosedError} after `close()`. */
  #check(): void {
    this.#signal?.throwIfAborted();
    if (this.#closed) throw new ClosedError('file');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  readonly #onAbort = (): void => this.#wake?.();
}
