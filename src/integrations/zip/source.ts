/**
 * Opening what `extractZip` was given as a yauzl ZipFile. Internal.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { debug } from '../../debug.js';
import { LimitExceededError } from '../../errors.js';
import { writeFileNoCache } from '../../fs/index.js';
import { Lease } from '../../pool/index.js';
import { FileReadable } from '../../read-all/file-readable.js';
import { type OpenedFile, openFile } from '../../read-all/from-file.js';
import { asBadInput } from './entry-bytes.js';

/**
 * What `extractZip` reads: a path, the archive's bytes (a Buffer/Uint8Array or a lease, only
 * read, never released), or a stream of them (a Node `Readable`, an async iterable of bytes, a
 * web `ReadableStream`), which is spooled to a temporary file first because a zip is read from
 * its end; so is a path to a FIFO or device, which has no random access either.
 */
export type ZipSource =
  | string
  | URL
  | Uint8Array
  | Lease
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>;

/** An open archive and how to let go of it. */
export interface OpenArchive {
  readonly zipfile: yauzl.ZipFile;
  /** Close the file and remove a spool file, if any. Never throws. */
  close(): Promise<void>;
}

const OPEN_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  // Names are decoded and checked by slabio (yauzl would refuse bad ones with a generic Error).
  decodeStrings: false,
  // Sizes are enforced by slabio while reading, with typed errors (see entryBytes).
  validateEntrySizes: false,
};

function noop(): void {}

/**
 * A regular file as a ZipFile, on the descriptor already open (no second open by path that could
 * find something else there). yauzl closes it with the ZipFile; on failure it is closed here.
 */
async function fromFile(file: OpenedFile, maxArchiveBytes: number): Promise<yauzl.ZipFile> {
  try {
    const size = file.size ?? 0;
    if (size > maxArchiveBytes) throw new LimitExceededError(maxArchiveBytes, size, 'zip archive');
    return await yauzl.fromFdPromise(file.fd, OPEN_OPTIONS).catch((err: unknown) => {
      throw asBadInput(err, undefined, 'zip archive');
    });
  } catch (err) {
    await file.close().catch(noop);
    throw err;
  }
}

async function* counted(
  source: AsyncIterable<unknown>,
  maxArchiveBytes: number,
): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    bytes += data.length;
    if (bytes > maxArchiveBytes)
      throw new LimitExceededError(maxArchiveBytes, bytes, 'zip archive');
    yield data;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Write `source` to a spool file in `spoolDir` and open that; the file is removed on failure. */
async function spooled(
  source: AsyncIterable<unknown>,
  spoolDir: string,
  maxArchiveBytes: number,
  signal: AbortSignal | undefined,
): Promise<{ zipfile: yauzl.ZipFile; spool: string }> {
  const path = join(spoolDir, `.slabio-zip-${process.pid}-${randomBytes(6).toString('hex')}.spool`);
  try {
    await writeFileNoCache(path, counted(source, maxArchiveBytes), {
      ...(signal === undefined ? {} : { signal }),
    });
    signal?.throwIfAborted();
    debug('extractZip: spooled stream to %s', path);
    return { zipfile: await fromFile(await openFile(path), Number.POSITIVE_INFINITY), spool: path };
  } catch (err) {
    await unlink(path).catch(noop);
    throw err;
  }
}

/**
 * Open `source`. A stream is spooled through the no-cache writer into `spoolDir` (the
 * destination's parent, so it lands on the same disk and not in a memory-backed `/tmp`) and the
 * spool file is removed by `close()` or on failure.
 *
 * @throws {TypeError} for a source of another kind.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` for a source longer than `maxArchiveBytes`.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for something that is not a readable zip.
 */
export async function openArchive(
  source: ZipSource,
  spoolDir: string,
  maxArchiveBytes: number,
  signal: AbortSignal | undefined,
): Promise<OpenArchive> {
  let zipfile: yauzl.ZipFile;
  let spool: string | null = null;
  if (typeof source === 'string' || source instanceof URL) {
    const file = await openFile(source, signal);
    if (file.position !== null) {
      zipfile = await fromFile(file, maxArchiveBytes);
    } else {
      // A FIFO or device has no random access: spool it like a stream (from the descriptor open
      // now; closing and reopening a FIFO would cut off its writer). Destroyed in any case, so
      // a spool that fails before reading it still closes the descriptor.
      const stream = new FileReadable(file);
      try {
        ({ zipfile, spool } = await spooled(stream, spoolDir, maxArchiveBytes, signal));
      } finally {
        await stream.closeNow();
      }
    }
  } else if (source instanceof Uint8Array || source instanceof Lease) {
    const bytes = source instanceof Lease ? source.buffer : source;
    if (bytes.length > maxArchiveBytes) {
      throw new LimitExceededError(maxArchiveBytes, bytes.length, 'zip archive');
    }
    const buffer = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    try {
      zipfile = await yauzl.fromBufferPromise(buffer, OPEN_OPTIONS);
    } catch (err) {
      throw asBadInput(err, signal, 'zip archive');
    }
  } else if (isAsyncIterable(source)) {
    ({ zipfile, spool } = await spooled(source, spoolDir, maxArchiveBytes, signal));
  } else {
    const what =
      typeof source === 'object' && source !== null
        ? ((source as object).constructor?.name ?? 'object')
        : typeof source;
    throw new TypeError(
      `source must be a path, Buffer, Uint8Array, Lease, Readable, async iterable or ReadableStream, got ${what}`,
    );
  }
  // Errors are delivered to eachEntry()'s listener; one emitted outside it must not crash.
  zipfile.on('error', noop);
  return {
    zipfile,
    async close() {
      zipfile.close();
      if (spool !== null) await unlink(spool).catch(noop);
    },
  };
}
