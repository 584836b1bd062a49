/**
 * Reading a caller's `FileHandle` on a pipe or device. Internal.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { abortRace, raced } from '../abort.js';
import { FIRST_WAIT_MS, MAX_WAIT_MS, wouldBlock } from './device-file.js';
import { FILE_READ_BYTES, readFd } from './fd-calls.js';
import type { OpenedFile } from './open-file.js';

/**
 * A caller's handle on a FIFO or device, left open. Its descriptor keeps the mode it was opened
 * with: blocking, a read can sit in a thread-pool thread until data or the end arrives, which
 * nothing can cancel. So it reads into a buffer of its own, and an abort settles at once and gives
 * the caller's block back while that read is still pending (its bytes are dropped when it
 * returns). Opened with `O_NONBLOCK`, a read with no data is retried after a short wait, as
 * {@link DeviceFile} does. A path instead of a handle avoids the pending read altogether.
 */
export class BorrowedFile implements OpenedFile {
  readonly fd: number;
  readonly position = null;
  readonly size = undefined;
  readonly #signal: AbortSignal | undefined;

  constructor(fd: number, signal: AbortSignal | undefined) {
    this.fd = fd;
    this.#signal = signal;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<number> {
    const { promise: aborted, dispose } = abortRace(this.#signal);
    try {
      const own = Buffer.allocUnsafe(Math.min(length, FILE_READ_BYTES));
      for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, MAX_WAIT_MS)) {
        try {
          const n = await raced(readFd(this.fd, own, 0, own.length, null), aborted);
          own.copy(buffer, offset, 0, n);
          return n;
        } catch (err) {
          if (!wouldBlock(err)) throw err;
        }
        await raced(sleep(wait), aborted);
      }
    } finally {
      dispose();
    }
  }

  /** The handle stays open; a read still pending writes only into its own buffer. */
  async close(): Promise<void> {}
}
