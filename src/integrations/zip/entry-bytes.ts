/**
 * Reading one entry's bytes while holding the archive to what it declared. Internal.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type yauzl from 'yauzl';
import { BadInputError, SlabioError, UnsafeArchiveError } from '../../errors.js';
import type { PlannedEntry } from './catalog.js';

/** Turn a failure of yauzl or its inflater into `ERR_SLABIO_BAD_INPUT`; keep ours and aborts. */
export function asBadInput(err: unknown, signal: AbortSignal | undefined, what: string): unknown {
  if (err instanceof SlabioError) return err;
  if (signal?.aborted && err === signal.reason) return err;
  // A failing read of the archive file itself (EIO, EBADF) is not the archive's fault.
  if (err instanceof Error && 'syscall' in err) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BadInputError(`${what} is corrupt or truncated: ${message}`, { cause: err });
}

function openData(zipfile: yauzl.ZipFile, plan: PlannedEntry): Promise<Readable> {
  const { compressedSize, compressionMethod } = plan.entry;
  return new Promise((resolve, reject) => {
    zipfile.openReadStreamLowLevel(
      plan.dataStart,
      compressedSize,
      0,
      compressedSize,
      compressionMethod === 8,
      null,
      (err, stream) => (err ? reject(err) : resolve(stream)),
    );
  });
}

/**
 * The entry's uncompressed bytes as they come out of the archive, counted and checksummed. The
 * first byte past the declared size stops the entry with `ERR_SLABIO_UNSAFE_ARCHIVE` (the sizes
 * the limits were checked against are a lie: a bomb), fewer bytes than declared or a CRC-32
 * mismatch with `ERR_SLABIO_BAD_INPUT`; a failure of yauzl or zlib is `ERR_SLABIO_BAD_INPUT` too. The
 * stream is destroyed whenever iteration stops early.
 */
export async function* entryBytes(
  zipfile: yauzl.ZipFile,
  plan: PlannedEntry,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const declared = plan.entry.uncompressedSize;
  const name = JSON.stringify(plan.rawName);
  let bytes = 0;
  let crc = 0;
  try {
    // Opened here, when the consumer asks for the first chunk, and iterated at once: yauzl's
    // inflater starts reading as soon as it exists, and an error it emitted before anyone
    // listened would be an uncaught exception. The data are read from the offset readCatalog
    // checked (not from the local header read again), so what is extracted is what was judged.
    const stream = await openData(zipfile, plan);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      bytes += chunk.length;
      if (bytes > declared) {
        throw new UnsafeArchiveError(
          `entry ${name} inflates past its declared size of ${declared} bytes`,
          plan.rawName,
        );
      }
      crc = zlib.crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    throw asBadInput(err, signal, `entry ${name}`);
  }
  if (bytes < declared) {
    throw new BadInputError(`entry ${name} is truncated: ${bytes} of ${declared} bytes`);
  }
  if (crc !== plan.entry.crc32) {
    throw new BadInputError(
      `entry ${name} fails its CRC-32 check (0x${crc.toString(16)} != 0x${plan.entry.crc32.toString(16)})`,
    );
  }
}
