/**
 * Opening files (paths or caller-owned handles) and reading them straight into pool blocks.
 * Internal; also used by the stream helpers.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import { LengthMismatchError } from '../errors.js';
import type { BlockWriter } from './block-writer.js';

/** A file to read: where its bytes are and who closes it. */
export interface OpenedFile {
  readonly handle: FileHandle;
  /**
   * The start offset for positional reads (`pread`), or `null` for files that cannot seek (pipes,
   * character devices), which are read from their current position.
   */
  readonly position: number | null;
  /** `fstat` size for a regular file with a size; `undefined` when unknown (0 in /proc, pipes). */
  readonly size: number | undefined;
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

/**
 * Open a path (closed again by `close()`) or take a caller's handle (left open). Regular files
 * are read with explicit positions from offset 0, so a handle's own position does not matter.
 */
export async function openFile(source: string | URL | FileHandle): Promise<OpenedFile> {
  const owned = !isFileHandle(source);
  const handle = owned ? await open(source as string | URL, 'r') : (source as FileHandle);
  try {
    const stat = await handle.stat();
    const regular = stat.isFile();
    return {
      handle,
      position: regular ? 0 : null,
      size: regular && stat.size > 0 ? stat.size : undefined,
      close: owned ? () => handle.close() : async () => {},
    };
  } catch (err) {
    if (owned) await handle.close().catch(() => {});
    throw err;
  }
}

/** One byte to probe for data past a file's declared end. Its content is never looked at. */
const probe = Buffer.alloc(1);

/**
 * Read `file` into `writer`. With a declared length, the one block is filled in place and one more
 * read checks that the file did not grow meanwhile; otherwise blocks are grown as needed. Abort is
 * checked between reads (a single `read` cannot be interrupted).
 */
export async function drainFile(
  file: OpenedFile,
  writer: BlockWriter,
  declared: number | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { handle } = file;
  let position = file.position;
  if (declared !== undefined) {
    while (writer.bytesRead < declared) {
      signal?.throwIfAborted();
      const { buffer, offset, length } = writer.target;
      const { bytesRead } = await handle.read(buffer, offset, length, position);
      if (bytesRead === 0) return; // short: the writer reports the mismatch at the end
      writer.commit(bytesRead);
      if (position !== null) position += bytesRead;
    }
    const { bytesRead } = await handle.read(probe, 0, 1, position);
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
    const { bytesRead } = await handle.read(buffer, offset, want, position);
    if (bytesRead === 0) return;
    writer.commit(bytesRead);
    if (position !== null) position += bytesRead;
  }
}
