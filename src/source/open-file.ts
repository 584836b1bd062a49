/**
 * Opening a file source (a path, a URL or a caller's `FileHandle`) for reads into the caller's
 * buffers: regular files with positional reads, FIFOs, sockets and devices without parking a
 * thread-pool thread. Internal.
 *
 * @module
 */
import type fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { debug } from '../debug.js';
import { BorrowedFile } from './borrowed-file.js';
import { DeviceFile } from './device-file.js';
import { closeFd, openPath, readFd, statFd } from './fd-calls.js';
import { PipeFile } from './pipe-file.js';

/**
 * A file to read: where its bytes are and who closes it. A pipe or device opened from a path is
 * waited on in the event loop (or between non-blocking reads), never in a thread-pool thread, so
 * an abort or `close()` ends the wait.
 */
export interface OpenedFile {
  /** The descriptor, for callers that add their own calls on it (cache control in src/fs). */
  readonly fd: number;
  /**
   * The start offset for positional reads (`pread`), or `null` for files that cannot seek (pipes,
   * character devices), which are read from their current position. Non-null means a regular file.
   */
  readonly position: number | null;
  /** `fstat` size for a regular file with a size; `undefined` when unknown (0 in /proc, pipes). */
  readonly size: number | undefined;
  /**
   * Read into `buffer`; resolves with the bytes read, 0 at the end. Rejects with `signal.reason`
   * once the signal given to {@link openFile} aborts (a regular file's read, which the kernel
   * bounds, is let finish).
   */
  read(buffer: Buffer, offset: number, length: number, position: number | null): Promise<number>;
  /**
   * Resolves once a read would not wait (data, the end or a failure is there), for files that can
   * wait indefinitely (FIFOs): the next block is leased only then, so a FIFO with no writer holds
   * no pool memory. Absent where reads do not wait on a peer.
   */
  readonly readable?: (() => Promise<void>) | undefined;
  /**
   * Close the file if we opened it; a caller's handle stays open. A pending pipe or device read
   * is stopped (it rejects), a regular file's is waited for: once this resolves, no read writes
   * into a buffer it was given.
   */
  close(): Promise<void>;
}

/** Whether `value` looks like a `fs/promises` FileHandle (the class is not exported by Node). */
export function isFileHandle(value: unknown): value is FileHandle {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<FileHandle>;
  return (
    typeof v.fd === 'number' &&
    typeof v.read === 'function' &&
    typeof v.stat === 'function' &&
    typeof v.close === 'function'
  );
}

/** A regular file (or a block device, directory...): plain `fs.read`, which the kernel bounds. */
function plainFile(fd: number, owned: boolean, stat: fs.Stats): OpenedFile {
  const regular = stat.isFile();
  let inflight: Promise<unknown> | null = null;
  return {
    fd,
    position: regular ? 0 : null,
    size: regular && stat.size > 0 ? stat.size : undefined,
    read(buffer, offset, length, position) {
      const read = readFd(fd, buffer, offset, length, position);
      inflight = read.catch(() => {});
      return read;
    },
    async close() {
      await inflight;
      if (owned) await closeFd(fd);
    },
  };
}

/** Wrap an owned (`O_NONBLOCK`) descriptor of a FIFO, socket or device for stoppable reads. */
function streamFile(fd: number, stat: fs.Stats, signal: AbortSignal | undefined): OpenedFile {
  const pipe = stat.isFIFO() || stat.isSocket();
  if (pipe) {
    try {
      return new PipeFile(fd, signal);
    } catch (err) {
      // libuv cannot poll it as a stream on this platform. Non-blocking reads still work, but a
      // FIFO that has had no writer yet then reads as empty instead of waiting for one.
      debug('openFile: no stream handle for fd %d: %s', fd, (err as Error).message);
    }
  }
  if (pipe || stat.isCharacterDevice()) return new DeviceFile(fd, signal);
  return plainFile(fd, true, stat);
}

/**
 * Open a path (closed again by `close()`) or take a caller's handle (left open; its descriptor is
 * used directly). Regular files are read with explicit positions from offset 0, so a handle's own
 * position does not matter. A path is opened with `O_NONBLOCK`, so a FIFO without a writer does
 * not hold a thread-pool thread; its reads then wait for data on the event loop (see
 * {@link PipeFile}, {@link DeviceFile}), and `signal` ends such a wait.
 */
export async function openFile(
  source: string | URL | FileHandle,
  signal?: AbortSignal,
): Promise<OpenedFile> {
  const owned = !isFileHandle(source);
  const fd = owned ? await openPath(source as string | URL) : (source as FileHandle).fd;
  try {
    const stat = await statFd(fd);
    if (stat.isFile()) return plainFile(fd, owned, stat);
    return owned ? streamFile(fd, stat, signal) : new BorrowedFile(fd, signal);
  } catch (err) {
    if (owned) await closeFd(fd).catch(() => {});
    throw err;
  }
}
