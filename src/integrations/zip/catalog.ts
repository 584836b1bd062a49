/**
 * Reading and judging the central directory before a single byte is extracted. Internal.
 *
 * @module
 */
import yauzl from 'yauzl';
import { RATIO_GRACE_BYTES } from '../../decompress/options.js';
import { BadInputError, LimitExceededError, UnsafeArchiveError } from '../../errors.js';
import { checkEntryName, type EntryPath, NameRegistry } from './names.js';
import type { ResolvedExtractOptions } from './options.js';

/** An entry that passed every check, with its checked path. */
export interface PlannedEntry {
  readonly entry: yauzl.Entry;
  readonly path: EntryPath;
  readonly rawName: string;
  readonly directory: boolean;
  readonly index: number;
}

// Unix file type bits in the upper 16 bits of the external attributes (APPNOTE 4.4.15, as
// written by Info-ZIP and every unix zip tool).
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
// The MS-DOS directory attribute in the low byte.
const DOS_DIRECTORY = 0x10;
// A local file header is at least 30 bytes plus the name (APPNOTE 4.3.7).
const LOCAL_HEADER_BYTES = 30;

/** The entry's file type from its unix mode bits; 0 when the archive recorded none. */
function unixType(entry: yauzl.Entry): number {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) >>> 0;
}

function judge(entry: yauzl.Entry, index: number, registry: NameRegistry): PlannedEntry {
  // decodeStrings is off so that yauzl does not refuse names with its own generic Error; decode
  // as yauzl would (CP437 or UTF-8 by flag, Info-ZIP unicode path field), keeping backslashes.
  const rawName = yauzl.getFileNameLowLevel(
    entry.generalPurposeBitFlag,
    entry.fileNameRaw,
    entry.extraFields,
    true,
  );
  const path = checkEntryName(rawName);
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

function checkSizes(plan: PlannedEntry, opts: ResolvedExtractOptions, total: number): number {
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

/**
 * Refuse entries whose data overlap: the "non-recursive" zip bomb (Fifield, 2019) points many
 * central directory entries at one highly compressed kernel. Honest archives store each entry's
 * local header and data one after another, so each entry must start after the previous one's
 * smallest possible extent.
 */
function checkOverlap(plans: PlannedEntry[]): void {
  const sorted = [...plans].sort(
    (a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader,
  );
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as PlannedEntry;
    const cur = sorted[i] as PlannedEntry;
    const prevEnd =
      prev.entry.relativeOffsetOfLocalHeader +
      LOCAL_HEADER_BYTES +
      prev.entry.fileNameLength +
      prev.entry.compressedSize;
    if (cur.entry.relativeOffsetOfLocalHeader < prevEnd) {
      throw new UnsafeArchiveError(
        `entries ${JSON.stringify(prev.rawName)} and ${JSON.stringify(cur.rawName)} overlap (a non-recursive zip bomb)`,
        cur.rawName,
      );
    }
  }
}

/**
 * Read the whole central directory and check every entry before extracting anything: count,
 * names, types, duplicates, declared sizes and ratios, overlap. The declared sizes are checked
 * here and then enforced byte by byte while extracting (see `entryBytes`), so the limits hold for
 * what the archive really produces.
 *
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` for too many entries, an unsafe name, a
 * symlink or special file, a duplicate, overlapping entries.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` for sizes or ratios past the limits.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for encrypted or unsupported entries (and, from
 * the caller's mapping, a corrupt central directory).
 */
export async function readCatalog(
  zipfile: yauzl.ZipFile,
  opts: ResolvedExtractOptions,
): Promise<PlannedEntry[]> {
  if (zipfile.entryCount > opts.maxEntries) {
    throw new UnsafeArchiveError(
      `archive has ${zipfile.entryCount} entries, more than maxEntries ${opts.maxEntries}`,
    );
  }
  const registry = new NameRegistry(opts.foldCase);
  const plans: PlannedEntry[] = [];
  let total = 0;
  for await (const entry of zipfile.eachEntry()) {
    opts.signal?.throwIfAborted();
    const plan = judge(entry, plans.length, registry);
    total = checkSizes(plan, opts, total);
    plans.push(plan);
  }
  checkOverlap(plans);
  return plans;
}
