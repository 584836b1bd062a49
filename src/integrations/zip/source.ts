/**
 * Opening what `extractZip` was given as a yauzl ZipFile. Internal.
 *
 * @module
 */
import { unlink } from 'node:fs/promises';
import yauzl from 'yauzl';
import { debug } from '../../debug.js';
import { LimitExceededError, UnsafeArchiveError } from '../../errors.js';
import { writeFileNoCache } from '../../fs/index.js';
import { createOwnedFile, type OwnedFile } from '../../fs/owned-temp.js';
import {
  bytesOf,
  chunksOf,
  classifySource,
  FileReadable,
  type OpenedFile,
  openFile,
  type SourceChunks,
  toBytes,
} from '../../source/index.js';
import type { ReadAt } from './byte-window.js';
import { type EndRecords, readEndRecords } from './end-records.js';
import { asBadInput } from './entry-bytes.js';
import type { ZipSource } from './zip-source.js';

/** An open archive and how to let go of it. */
export interface OpenArchive {
  readonly zipfile: yauzl.ZipFile;
  /** The end records, checked (see `readEndRecords`). */
  readonly end: EndRecords;
  /** Random reads of the archive (the same file descriptor or buffer yauzl reads). */
  readonly read: ReadAt;
  /** The archive's bytes when the source was in memory, else `null`. */
  readonly buffer: Buffer | null;
  /** Close the file and remove a spool file, if any. Never throws. */
  close(): Promise<void>;
}

const SOURCE_KINDS = ['bytes', 'path', 'readable', 'iterable', 'web'] as const;

const OPEN_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and checked by slabio (yauzl would refuse bad ones with a generic Error).
  decodeStrings: false,
  // Sizes are enforced by slabio while reading, with typed errors (see entryBytes).
  validateEntrySizes: false,
};

function noop(): void {}

/** An archive as yauzl's ZipFile plus direct reads of the same bytes. */
interface Opened {
  zipfile: yauzl.ZipFile;
  end: EndRecords;
  read: ReadAt;
  buffer: Buffer | null;
}

/**
 * Check the end records, then let yauzl parse the same bytes. slabio reads the end records first
 * so that records which disagree are refused as unsafe before yauzl picks one reading of them.
 */
async function openChecked(
  read: ReadAt,
  size: number,
  open: () => Promise<yauzl.ZipFile>,
  signal: AbortSignal | undefined,
): Promise<Omit<Opened, 'buffer'>> {
  let zipfile: yauzl.ZipFile;
  let end: EndRecords;
  try {
    end = await readEndRecords(read, size);
    zipfile = await open();
  } catch (err) {
    throw asBadInput(err, signal, 'zip archive');
  }
  // decodeStrings is off, so the comment is the raw bytes.
  const comment = zipfile.comment as unknown as Buffer;
  if (zipfile.entryCount !== end.entries || comment.length !== end.commentLength) {
    zipfile.close();
    throw new UnsafeArchiveError(
      'zip archive is unsafe: yauzl reads other end records than slabio',
    );
  }
  return { zipfile, end, read };
}

/**
 * A regular file opened once (by `openFile`): slabio's own reads and yauzl's go through the same
 * descriptor, so both see the same file even if the path is replaced meanwhile. yauzl closes the
 * descriptor when the ZipFile is closed; until it owns it, a failure closes it here.
 */
async function fromFile(file: OpenedFile, maxArchiveBytes: number): Promise<Opened> {
  let handedOver = false;
  const open = async (): Promise<yauzl.ZipFile> => {
    const zipfile = await yauzl.fromFdPromise(file.fd, OPEN_OPTIONS);
    handedOver = true;
    return zipfile;
  };
  try {
    const size = file.size ?? 0; // undefined for an empty file
    if (size > maxArchiveBytes) throw new LimitExceededError(maxArchiveBytes, size, 'zip archive');
    const read: ReadAt = (target, length, position) => file.read(target, 0, length, position);
    return { ...(await openChecked(read, size, open, undefined)), buffer: null };
  } catch (err) {
    if (!handedOver) await file.close().catch(noop);
    throw err;
  }
}

async function fromBuffer(buffer: Buffer, signal: AbortSignal | undefined): Promise<Opened> {
  const read: ReadAt = async (target, length, position) =>
    position >= buffer.length
      ? 0
      : buffer.copy(target, 0, position, Math.min(position + length, buffer.length));
  const open = (): Promise<yauzl.ZipFile> => yauzl.fromBufferPromise(buffer, OPEN_OPTIONS);
  return { ...(await openChecked(read, buffer.length, open, signal)), buffer };
}

async function* counted(source: SourceChunks, maxArchiveBytes: number): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  // Not `for await`: its implicit return() on a throw would stop the source without the reason,
  // and a Readable stopped without one is destroyed. `spooled` stops it with the error instead.
  for (;;) {
    const step = await source.next();
    if (step.done === true) return;
    // Checked here, before counting: the spool writer also takes leases (and releases them),
    // which would neither be counted against the limit nor stay the caller's.
    const data = toBytes(step.value);
    bytes += data.length;
    if (bytes > maxArchiveBytes)
      throw new LimitExceededError(maxArchiveBytes, bytes, 'zip archive');
    yield data;
  }
}

/** Remove a spool file, then drop its lock (in that order: see `createOwnedFile`). */
async function removeSpool(spool: OwnedFile): Promise<void> {
  await unlink(spool.path).catch(noop);
  await spool.handle.close().catch(noop);
}

/**
 * Write `source` to an owned spool file (named after `spoolBase`) in `spoolDir` and open that;
 * the file is removed on failure, else by the archive's `close()`. On failure the source is let
 * go of at once: the writer's own abandon reaches it only once a pending read settles.
 */
async function spooled(
  source: SourceChunks,
  spoolDir: string,
  spoolBase: string,
  maxArchiveBytes: number,
  signal: AbortSignal | undefined,
): Promise<{ opened: Opened; spool: OwnedFile }> {
  // The handle only holds the owner's lock; the writer opens the file again by name.
  const owned = await createOwnedFile(spoolDir, spoolBase, 'spool', 0o600);
  try {
    await writeFileNoCache(owned.path, counted(source, maxArchiveBytes), {
      ...(signal === undefined ? {} : { signal }),
    });
    signal?.throwIfAborted();
    debug('extractZip: spooled stream to %s', owned.path);
    const opened = await fromFile(await openFile(owned.path), Number.POSITIVE_INFINITY);
    return { opened, spool: owned };
  } catch (err) {
    source.return(err);
    await removeSpool(owned);
    throw err;
  }
}

/**
 * Open `source`. A stream is spooled through the no-cache writer into `spoolDir` (the
 * destination's parent, so it lands on the same disk and not in a memory-backed `/tmp`) under a
 * temporary name after `spoolBase` that a sweep can judge (see `sweepStale`), and the spool file
 * is removed by `close()` or on failure.
 *
 * @throws {TypeError} for a source of another kind.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` for a source longer than `maxArchiveBytes`.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for something that is not a readable zip.
 */
export async function openArchive(
  source: ZipSource,
  spoolDir: string,
  spoolBase: string,
  maxArchiveBytes: number,
  signal: AbortSignal | undefined,
): Promise<OpenArchive> {
  let opened: Opened;
  let spool: OwnedFile | null = null;
  const input = classifySource(source, 'source', SOURCE_KINDS);
  if (input.kind === 'path') {
    const file = await openFile(input.value, signal);
    if (file.position !== null) {
      opened = await fromFile(file, maxArchiveBytes);
    } else {
      // A FIFO or device has no random access: spool it like a stream (from the descriptor open
      // now; closing and reopening a FIFO would cut off its writer). Destroyed in any case, so
      // a spool that fails before reading it still closes the descriptor.
      const stream = new FileReadable(file);
      try {
        const chunks = chunksOf({ kind: 'readable', value: stream });
        ({ opened, spool } = await spooled(chunks, spoolDir, spoolBase, maxArchiveBytes, signal));
      } finally {
        await stream.closeNow();
      }
    }
  } else if (input.kind === 'bytes') {
    const bytes = bytesOf(input.value);
    if (bytes.length > maxArchiveBytes) {
      throw new LimitExceededError(maxArchiveBytes, bytes.length, 'zip archive');
    }
    const buffer = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    opened = await fromBuffer(buffer, signal);
  } else {
    const chunks = chunksOf(input);
    ({ opened, spool } = await spooled(chunks, spoolDir, spoolBase, maxArchiveBytes, signal));
  }
  const { zipfile } = opened;
  // Errors are delivered to eachEntry()'s listener; one emitted outside it must not crash.
  zipfile.on('error', noop);
  return {
    ...opened,
    async close() {
      zipfile.close();
      if (spool !== null) await removeSpool(spool);
    },
  };
}
