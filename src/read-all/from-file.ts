/**
 * Reading an opened file straight into a {@link BlockWriter}'s blocks. Internal; also used by
 * `readFileNoCache`.
 *
 * @module
 */
import { LengthMismatchError } from '../errors.js';
import { FILE_READ_BYTES, type OpenedFile } from '../source/index.js';
import type { BlockWriter } from './block-writer.js';

/** One byte to probe for data past a file's declared end. Its content is never looked at. */
const probeByte = Buffer.alloc(1);

/**
 * Read `file` into `writer`. With a declared length, the one block is filled in place; when the
 * caller gave that length (`probe`), one more read checks that the file is not longer. A length
 * from `fstat` is not probed: like `fs.readFile`, the read is a snapshot of the size at open
 * (a file that shrinks meanwhile still rejects). Without a length, blocks are grown as needed.
 * Abort is checked between reads; a pipe's or device's read also ends at the abort itself.
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
    if (file.readable !== undefined) {
      await file.readable();
      signal?.throwIfAborted();
    }
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
