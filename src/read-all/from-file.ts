/**
 * Opening files (paths or caller-owned handles) and reading them straight into pool blocks.
 * Internal; also used by the stream helpers.
 *
 * @module
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { LengthMismatchError } from '../errors.js';
import type { BlockWriter } from './block-writer.js';

/** A file to read: where its bytes are and who closes it. */
export interface OpenedFile {
  /** The descriptor, for callers that add their own calls on it (cache control in src/fs). */
  readonly fd: number;
  /**
   * The start offset for positional reads (`pread`), or `null` for files that cannot seek (pipes,
   * character devices), which are read from their current position.
   */
  readonly position: number | null;
  /** `fstat` size for a regular file with a size; `undefined` when unknown (0 in /proc, pipes). */
  readonly size: number | undefined;
  /** `fs.read` into `buffer`; resolves with the bytes read, 0 at the end. */
  read(buffer: Buffer, offset: number, length: number, position: number | null): Promise<number>;
  /** Close the file if we opened it; a caller's handle stays open. */
  close(): Promise<void>;
}

/** Bytes asked for per read when the length is unknown: fs.ReadStream's default highWaterMark. */
export const FILE_READ_BYTES = 64 * 1024;

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

// The callback API on a descriptor, not FileHandle's promise methods: one thread-pool round trip
// per call either way, but each FileHandle call costs noticeably more in JS (measured: readAll of
// a 64 KiB file went from 0.70× to about fs.readFile's speed).
function openFd(path: string | URL): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function statFd(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) =>
    fs.fstat(fd, (err, stats) => (err ? reject(err) : resolve(stats))),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

function readFd(
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number | null,
): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/**
 * Open a path (closed again by `close()`) or take a caller's handle (left open; its descriptor is
 * used directly). Regular files are read with explicit positions from offset 0, so a handle's own
 * position does not matter.
 */
export async function openFile(source: string | URL | FileHandle): Promise<OpenedFile> {
  const owned = !isFileHandle(source);
  const fd = owned ? await openFd(source as string | URL) : (source as FileHandle).fd;
  try {
    const stat = await statFd(fd);
    const regular = stat.isFile();
    return {
      fd,
      position: regular ? 0 : null,
      size: regular && stat.size > 0 ? stat.size : undefined,
      read: (buffer, offset, length, position) => readFd(fd, buffer, offset, length, position),
      close: owned ? () => closeFd(fd) : async () => {},
    };
  } catch (err) {
    if (owned) await closeFd(fd).catch(() => {});
    throw err;
  }
}

/** One byte to probe for data past a file's declared end. Its content is never looked at. */
const probeByte = Buffer.alloc(1);

/**
 * Read `file` into `writer`. With a declared length, the one block is filled in place; when the
 * caller gave that length (`probe`), one more read checks that the file is not longer. A length
 * from `fstat` is not probed: like `fs.readFile`, the read is a snapshot of the size at open
 * (a file that shrinks meanwhile still rejects). Without a length, blocks are grown as needed.
 * Abort is checked between reads (a single `read` cannot be interrupted).
 */
export async function drainFile(
  file: OpenedFile,
  writer: BlockWriter,
  declared: number | undefined,
  probe: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  let position = file.position;
  if (declared !== undefined) {
    while (writer.bytesRead < declared) {
      signal?.throwIfAborted();
      const { buffer, offset, length } = writer.target;
      const bytesRead = await file.read(buffer, offset, length, position);
      if (bytesRead === 0) return; // short: the writer reports the mismatch at the end
      writer.commit(bytesRead);
      if (position !== null) position += bytesRead;
    }
    if (!probe) return;
    const bytesRead = await file.read(probeByte, 0, 1, position);
    if (bytesRead > 0) throw new LengthMismatchError(declared, declared + bytesRead);
    return;
  }
  for (;;) {
    signal?.throwIfAborted();
    const pending = writer.reserve(FILE_READ_BYTES);
    if (pending !== undefined) await pending;
    const { buffer, offset, length } = writer.target;
    // Ask for at most one byte past the limit: enough to detect it, without reading on.
    const want = Math.min(length, writer.allowance + 1);
    const bytesRead = await file.read(buffer, offset, want, position);
    if (bytesRead === 0) return;
    writer.commit(bytesRead);
    if (position !== null) position += bytesRead;
  }
}
