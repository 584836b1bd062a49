/**
 * Options of `extractZip`: what they mean, their defaults and validation.
 *
 * @module
 */
import { DEFAULT_MAX_RATIO } from '../../decompress/options.js';
import type { WriteChunk } from '../../fs/index.js';
import type { BufferPool, Lease } from '../../pool/index.js';
import {
  booleanOption,
  checkObject,
  checkSignal,
  functionOption,
  intOption,
  numberOption,
  poolOption,
} from '../../validate.js';
import type { ZipEntry } from './zip-entry.js';

/** What an `onEntry` callback may return to have a file written (see {@link ExtractZipOptions.onEntry}). */
export interface ZipEntryOutput {
  /** Path under the destination, checked like an entry name (no `..`, not absolute, no duplicates). */
  name: string;
  /** The bytes; a lease (also the entry's own) is released once written. */
  data: WriteChunk;
}

/** Options of `extractZip`. Every option is optional. */
export interface ExtractZipOptions {
  /** Refuse archives with more entries (directories included). @default 10000 */
  maxEntries?: number;
  /** Refuse archives whose entries add up to more uncompressed bytes. @default 1 GiB */
  maxTotalBytes?: number;
  /**
   * Refuse any single entry larger than this. With `onEntry` each entry is held in memory, so the
   * default is lower there.
   * @default 64 MiB with `onEntry`, else `maxTotalBytes`
   */
  maxEntryBytes?: number;
  /**
   * Refuse an entry whose uncompressed size is more than `maxRatio` × its compressed size (entries
   * below 1 MiB uncompressed are never refused for their ratio). `Infinity` turns it off.
   * @default 100
   */
  maxRatio?: number;
  /** Refuse a source (file, buffer or stream being spooled) longer than this. @default 1 GiB */
  maxArchiveBytes?: number;
  /**
   * Treat names that differ only in case (and Unicode normalization) as duplicates, as the
   * filesystems of macOS and Windows do.
   * @default true on macOS and Windows, false elsewhere
   */
  foldCase?: boolean;
  /** The pool entry leases come from (with `onEntry`). @default getDefaultPool() */
  pool?: BufferPool;
  /**
   * Hand each file entry to this callback as a pooled lease instead of writing it. Entries are
   * handed over one at a time, in archive order; the next is read once the returned promise
   * settles. Directory entries are not handed over.
   *
   * Ownership: the lease is released when the callback settles, unless the callback called
   * `entry.takeLease()` (then releasing it is the caller's job) or returned it as `data`.
   * Return `undefined` to write nothing, or a {@link ZipEntryOutput} to write a file under the
   * destination (the same atomic rules apply: nothing appears unless the whole archive succeeds).
   * An error thrown by the callback stops the extraction and passes through unchanged.
   */
  onEntry?: (
    entry: ZipEntry,
    lease: Lease,
  ) => ZipEntryOutput | undefined | Promise<ZipEntryOutput | undefined>;
  /** Abort: stop reading and writing, remove what was written, reject with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options after defaults and validation. */
export interface ResolvedExtractOptions {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
  maxRatio: number;
  maxArchiveBytes: number;
  foldCase: boolean;
  pool: BufferPool;
  onEntry: ExtractZipOptions['onEntry'];
  signal: AbortSignal | undefined;
}

const GIB = 1 << 30;
const ON_ENTRY_MAX_ENTRY_BYTES = 64 << 20;

/**
 * Apply defaults and validate.
 * @throws {TypeError|RangeError} naming the option and the bad value.
 */
export function resolveExtractOptions(options: ExtractZipOptions = {}): ResolvedExtractOptions {
  checkObject('options', options);
  const onEntry = functionOption('options.onEntry', options.onEntry);
  const limit = (name: keyof ExtractZipOptions, fallback: number) =>
    intOption(`options.${name}`, options[name], fallback, { infinity: true });
  const maxTotalBytes = limit('maxTotalBytes', GIB);
  return {
    maxEntries: limit('maxEntries', 10_000),
    maxTotalBytes,
    maxEntryBytes: limit(
      'maxEntryBytes',
      onEntry === undefined ? maxTotalBytes : ON_ENTRY_MAX_ENTRY_BYTES,
    ),
    maxRatio: numberOption('options.maxRatio', options.maxRatio, DEFAULT_MAX_RATIO, {
      min: 1,
      infinity: true,
    }),
    maxArchiveBytes: limit('maxArchiveBytes', GIB),
    foldCase: booleanOption(
      'options.foldCase',
      options.foldCase,
      process.platform === 'darwin' || process.platform === 'win32',
    ),
    pool: poolOption(options.pool),
    onEntry,
    signal: checkSignal(options.signal),
  };
}
