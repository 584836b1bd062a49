/**
 * Reading and judging the central directory before a single byte is extracted. Internal.
 *
 * @module
 */
import yauzl from 'yauzl';
import { debug } from '../../debug.js';
import { RATIO_GRACE_BYTES } from '../../decompress/options.js';
import { BadInputError, LimitExceededError, UnsafeArchiveError } from '../../errors.js';
import { ByteWindow } from './byte-window.js';
import { checkExtraFields, checkLocalHeaders } from './local-headers.js';
import { checkEntryName, type EntryPath, NameRegistry } from './names.js';
import type { ResolvedExtractOptions } from './options.js';
import type { OpenArchive } from './source.js';

/** An entry whose central directory record passed every check, with its checked path. */
interface JudgedEntry {
  readonly entry: yauzl.Entry;
  readonly path: EntryPath;
  readonly rawName: string;
  readonly directory: boolean;
  readonly index: number;
}

/** An entry that passed every check, and where its data start (after its local header). */
export interface PlannedEntry extends JudgedEntry {
  readonly dataStart: number;
}

// Unix file type bits in the upper 16 bits of the external attributes (APPNOTE 4.4.15, as
// written by Info-ZIP and every unix zip tool).
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
// The MS-DOS directory attribute in the low byte.
const DOS_DIRECTORY = 0x10;
// A central directory record is 46 bytes plus its name, extra field and comment (APPNOTE 4.3.12).
const CENTRAL_RECORD_BYTES = 46;

/** The entry's file type from its unix mode bits; 0 when the archive recorded none. */
function unixType(entry: yauzl.Entry): number {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) >>> 0;
}

function judge(entry: yauzl.Entry, index: number, registry: NameRegistry): JudgedEntry {
  // decodeStrings is off so that yauzl does not refuse names with its own generic Error; decode
  // as yauzl would (CP437 or UTF-8 by flag, Info-ZIP unicode path field), keeping backslashes.
  const rawName = yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    entry.fileNameRaw,
    entry.extraFields,
    true,
  );
  const path = checkEntryName(rawName);
  checkExtraFields({ entry, rawName, index }, entry.extraFields, 'central directory record');
  const type = unixType(entry);
  if (type === S_IFLNK) {
    throw new UnsafeArchiveError(`entry ${JSON.stringify(rawName)} is a symbolic link`, rawName);
  }
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    throw new UnsafeArchiveError(
      `entry ${JSON.stringify(rawName)} is a special file (mode ${type.toString(8)})`,
      rawName,
    );
  }
  const directory =
    path.directory || type === S_IFDIR || (entry.externalFileAttributes & DOS_DIRECTORY) !== 0;
  registry.add(path, rawName, directory);
  if (!directory) {
    if (entry.isEncrypted()) {
      throw new BadInputError(`entry ${JSON.stringify(rawName)} is encrypted; not supported`);
    }
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw new BadInputError(
        `entry ${JSON.stringify(rawName)} uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are supported`,
      );
    }
  }
  return { entry, path, rawName, directory, index };
}

function checkSizes(plan: JudgedEntry, opts: ResolvedExtractOptions, total: number): number {
  if (plan.directory) return total;
  const { uncompressedSize: size, compressedSize } = plan.entry;
  const what = `entry ${JSON.stringify(plan.rawName)}`;
  if (size > opts.maxEntryBytes) throw new LimitExceededError(opts.maxEntryBytes, size, what);
  if (size > RATIO_GRACE_BYTES && size > opts.maxRatio * compressedSize) {
    const limit = Math.max(RATIO_GRACE_BYTES, Math.floor(opts.maxRatio * compressedSize));
    throw new LimitExceededError(
      limit,
      size,
      `${what} (max ratio ${opts.maxRatio}:1 of ${compressedSize} compressed bytes)`,
    );
  }
  const sum = total + size;
  if (sum > opts.maxTotalBytes) {
    throw new LimitExceededError(opts.maxTotalBytes, sum, 'archive uncompressed size');
  }
  return sum;
}

function unsafe(why: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`zip archive is unsafe: ${why}`);
}

/**
 * Read the central directory's records, judging each, and check that the records the end record
 * counts fill the central directory exactly. Without that, an end record that under-counts makes
 * yauzl read fewer entries than other readers do (and one that over-counts makes it read the end
 * records as entries).
 */
async function readRecords(
  archive: OpenArchive,
  opts: ResolvedExtractOptions,
  registry: NameRegistry,
): Promise<JudgedEntry[]> {
  const { entries, cdOffset, cdEnd } = archive.end;
  const counted = `the end record counts ${entries} entries`;
  const plans: JudgedEntry[] = [];
  let cursor = cdOffset;
  let total = 0;
  if (entries > 0 && cdEnd - cdOffset < CENTRAL_RECORD_BYTES) {
    throw unsafe(`${counted} but the central directory holds none`);
  }
  for await (const entry of archive.zipfile.eachEntry()) {
    opts.signal?.throwIfAborted();
    cursor +=
      CENTRAL_RECORD_BYTES +
      entry.fileNameLength +
      entry.extraFieldLength +
      entry.fileCommentLength;
    if (cursor > cdEnd)
      throw unsafe(`central directory record ${plans.length} runs past the central directory`);
    const plan = judge(entry, plans.length, registry);
    total = checkSizes(plan, opts, total);
    plans.push(plan);
    // Stop before yauzl reads a record that is not in the central directory.
    if (plans.length < entries && cdEnd - cursor < CENTRAL_RECORD_BYTES) {
      throw unsafe(`${counted} but the central directory holds ${plans.length}`);
    }
  }
  if (cursor !== cdEnd) {
    throw unsafe(`${counted} but the central directory holds ${cdEnd - cursor} bytes more`);
  }
  return plans;
}

/**
 * Read the whole central directory and every local header, and check every entry before
 * extracting anything: count, names, types, duplicates, declared sizes and ratios, then the
 * layout (see `checkLocalHeaders`). The declared sizes are checked here and then enforced byte by
 * byte while extracting (see `entryBytes`), so the limits hold for what the archive really
 * produces; the data are read from the offsets checked here.
 *
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` for too many entries, an unsafe name, a
 * symlink or special file, a duplicate, a central directory that is not what the end record
 * says, local headers that disagree with it, overlapping entries or bytes that belong to none.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` for sizes or ratios past the limits.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for encrypted or unsupported entries (and, from
 * the caller's mapping, a corrupt central directory).
 */
export async function readCatalog(
  archive: OpenArchive,
  opts: ResolvedExtractOptions,
): Promise<PlannedEntry[]> {
  const { entries, cdOffset } = archive.end;
  if (entries > opts.maxEntries) {
    throw new UnsafeArchiveError(
      `archive has ${entries} entries, more than maxEntries ${opts.maxEntries}`,
    );
  }
  const plans = await readRecords(archive, opts, new NameRegistry(opts.foldCase));
  const window = new ByteWindow(archive.read, cdOffset, archive.buffer);
  const starts = await checkLocalHeaders(window, plans, cdOffset, opts.signal);
  debug('extractZip: layout of %d entries checked in %d reads', plans.length, window.reads);
  return plans.map((plan) => ({ ...plan, dataStart: starts[plan.index] as number }));
}
