/**
 * `extractZip`: safe, atomic extraction through the no-cache writer.
 *
 * @module
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, resolve, sep } from 'node:path';
import { debug } from '../../debug.js';
import { writeFileNoCache } from '../../fs/index.js';
import { createOwnedDir, type OwnedDir } from '../../fs/owned-temp.js';
import { Lease } from '../../pool/index.js';
import { readAll } from '../../read-all/index.js';
import { absorbSourceErrors } from '../../source/index.js';
import { type PlannedEntry, readCatalog } from './catalog.js';
import { checkDestination, commit, removeCreated } from './destination.js';
import { asBadInput, entryBytes } from './entry-bytes.js';
import { checkEntryName, NameRegistry } from './names.js';
import {
  type ExtractZipOptions,
  type ResolvedExtractOptions,
  resolveExtractOptions,
  type ZipEntryOutput,
} from './options.js';
import { type OpenArchive, openArchive } from './source.js';
import { ZipEntry } from './zip-entry.js';
import type { ZipSource } from './zip-source.js';

/** What {@link extractZip} did. */
export interface ExtractZipResult {
  /** The destination directory (absolute), or `null` when none was given. */
  destination: string | null;
  /** Entries in the archive, directories included. */
  entries: number;
  /** Files written under the destination (entries, or `onEntry` outputs). */
  files: number;
  /** Uncompressed bytes read from the archive's file entries. */
  bytes: number;
}

/** Where an extraction writes until it commits. */
interface Staging {
  readonly dir: string;
  readonly owned: OwnedDir;
  readonly outputs: NameRegistry;
}

function noop(): void {}

/** The path for `name` inside `root`, checked once more against the resolved root. */
function inside(root: string, name: string): string {
  const target = resolve(root, ...name.split('/'));
  if (!target.startsWith(root + sep)) throw new Error(`internal: ${name} escapes ${root}`);
  return target;
}

/** Release an output's data if it is a lease nobody has taken over yet. */
function releaseOutput(output: unknown): void {
  const data = (output as { data?: unknown } | null)?.data;
  if (data instanceof Lease) data[Symbol.dispose]();
}

async function writeOutput(
  staging: Staging | null,
  output: ZipEntryOutput,
  signal: AbortSignal | undefined,
): Promise<void> {
  let target: string;
  // The output's lease is ours from the moment it is returned; writeFileNoCache releases it once
  // it has it, so every refusal before that must release it here.
  try {
    if (typeof output !== 'object' || output === null || typeof output.name !== 'string') {
      throw new TypeError('onEntry must return undefined or { name: string, data }');
    }
    if (staging === null) {
      throw new TypeError('onEntry returned an output but extractZip has no destination (null)');
    }
    const path = checkEntryName(output.name, 'output');
    staging.outputs.add(path, output.name, false, 'output');
    target = inside(staging.dir, path.name);
    await mkdir(dirname(target), { recursive: true });
  } catch (err) {
    releaseOutput(output);
    throw err;
  }
  await writeFileNoCache(target, output.data, signal === undefined ? {} : { signal });
}

async function handToCallback(
  archive: OpenArchive,
  plan: PlannedEntry,
  opts: ResolvedExtractOptions,
  staging: Staging | null,
): Promise<number> {
  const { signal } = opts;
  const size = plan.entry.uncompressedSize;
  const lease = await readAll(entryBytes(archive.zipfile, plan, signal), {
    pool: opts.pool,
    maxBytes: opts.maxEntryBytes,
    lengthHint: size,
    ...(signal === undefined ? {} : { signal }),
  });
  const entry = new ZipEntry(
    {
      name: plan.path.name,
      rawName: plan.rawName,
      index: plan.index,
      size,
      compressedSize: plan.entry.compressedSize,
      lastModified: plan.entry.getLastModDate(),
    },
    lease,
  );
  try {
    const output = await (opts.onEntry as NonNullable<ExtractZipOptions['onEntry']>)(entry, lease);
    if (output !== undefined) {
      await writeOutput(staging, output, signal);
      return 1;
    }
    return 0;
  } finally {
    if (!entry.taken) lease[Symbol.dispose]();
  }
}

async function extractEntries(
  archive: OpenArchive,
  plans: PlannedEntry[],
  opts: ResolvedExtractOptions,
  staging: Staging | null,
): Promise<{ files: number; bytes: number }> {
  const { signal } = opts;
  let files = 0;
  let bytes = 0;
  for (const plan of plans) {
    signal?.throwIfAborted();
    if (plan.directory) {
      if (staging !== null && opts.onEntry === undefined) {
        await mkdir(inside(staging.dir, plan.path.name), { recursive: true });
      }
      continue;
    }
    if (opts.onEntry !== undefined) {
      files += await handToCallback(archive, plan, opts, staging);
    } else {
      const dir = (staging as Staging).dir;
      const target = inside(dir, plan.path.name);
      await mkdir(dirname(target), { recursive: true });
      await writeFileNoCache(
        target,
        entryBytes(archive.zipfile, plan, signal),
        signal === undefined ? {} : { signal },
      );
      files++;
    }
    bytes += plan.entry.uncompressedSize;
  }
  return { files, bytes };
}

/**
 * Extract a zip archive into `destinationDir`, safely and atomically, writing every file through
 * the no-cache writer so the extraction leaves no page cache behind.
 *
 * Before anything is written the end records, the whole central directory and every local
 * header are read and judged: more than `maxEntries` entries, an unsafe name (`..` segments,
 * absolute paths, drive letters, backslashes, NUL), a symlink or other special file (by the unix
 * mode in the external attributes), a duplicate name (after dropping `./` and `//`; with
 * `foldCase` also case-insensitively), a file where another entry needs a directory, or a layout
 * other than the one honest writers produce are refused: entries must follow one another from
 * offset 0 to the central directory without overlap or gap (so every overlapping zip bomb and
 * any prepended data are refused), local headers and data descriptors must repeat the central
 * directory, and the end records must agree with it and with each other. Declared sizes past
 * `maxEntryBytes` / `maxTotalBytes` / `maxRatio` are refused too, and while extracting every
 * entry is counted byte by byte and stopped at the first byte past its declared size, so the
 * limits hold for the bytes the archive really produces. CRC-32 is verified.
 *
 * Atomic: files are written into a fresh directory next to the destination (same filesystem)
 * which is renamed into place once everything succeeded. On any failure or abort that directory
 * is removed, so the destination is left as it was (absent or empty). The destination must not
 * exist or be an empty directory (not a symbolic link to one); missing parents are created,
 * and removed again on failure. Permissions, times and owners from the archive are not applied.
 *
 * With `onEntry` each file entry is handed to the callback as a pooled lease instead (see
 * {@link ExtractZipOptions.onEntry}); `destinationDir` may then be `null` if the callback never
 * returns an output.
 *
 * @param source A path, the archive's bytes (a lease is only read), or a stream (spooled to a
 * temporary file next to the destination, removed afterwards; so is a FIFO path).
 * @param destinationDir The directory to create, or `null` with `onEntry`.
 * @param options See {@link ExtractZipOptions}.
 * @default options `{ maxEntries: 10000, maxTotalBytes: 1 GiB, maxRatio: 100, maxArchiveBytes: 1 GiB }`
 * @throws {TypeError|RangeError} for bad arguments, naming them.
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` for unsafe names, links, duplicates,
 * too many entries, an unsafe layout (overlapping entries, bytes that belong to no entry, local
 * headers, data descriptors or end records that disagree), or an entry that inflates past its
 * declared size.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` for sizes or ratios past the limits.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` for a corrupt or truncated archive, a CRC
 * mismatch, encrypted entries or compression methods other than stored and deflate.
 * @throws {DestinationError} `ERR_SLABIO_DESTINATION` for an unusable destination (`reason`
 * `'not-empty'`, `'not-directory'` or `'symbolic-link'`; checked with lstat before any work, and
 * again by the final rename).
 * @throws the `onEntry` callback's own error unchanged, the kernel's errors as Node shapes them
 * (`ENOSPC`, …), or `signal.reason` on abort.
 * @example
 * ```ts
 * import { extractZip } from 'slabio/zip';
 * const { files, bytes } = await extractZip('upload.zip', 'photos/batch-42', { maxTotalBytes: 512 << 20 });
 * ```
 */
export async function extractZip(
  source: ZipSource,
  destinationDir: string | null,
  options?: ExtractZipOptions,
): Promise<ExtractZipResult> {
  const opts = resolveExtractOptions(options);
  if (destinationDir !== null && (typeof destinationDir !== 'string' || destinationDir === '')) {
    throw new TypeError(
      `destinationDir must be a non-empty string (or null with onEntry), got ${String(destinationDir)}`,
    );
  }
  if (destinationDir === null && opts.onEntry === undefined) {
    throw new TypeError('destinationDir may only be null when options.onEntry is given');
  }
  // A stream is read only after the destination checks: its error must not find no listener.
  absorbSourceErrors(source);
  const { signal } = opts;
  signal?.throwIfAborted();
  const destination = destinationDir === null ? null : resolve(destinationDir);
  if (destination === null) return extractWith(source, null, opts);
  await checkDestination(destination);
  // The spool file and the staging directory live next to the destination (same filesystem, so
  // the final rename is atomic): its parent must exist before a stream is spooled there.
  const parent = dirname(destination);
  const created = await mkdir(parent, { recursive: true });
  try {
    return await extractWith(source, destination, opts);
  } catch (err) {
    if (created !== undefined) await removeCreated(parent, created);
    throw err;
  }
}

/** Open `source`, judge it and extract it into a staging directory renamed to `destination`. */
async function extractWith(
  source: ZipSource,
  destination: string | null,
  opts: ResolvedExtractOptions,
): Promise<ExtractZipResult> {
  const { signal } = opts;
  const parent = destination === null ? null : dirname(destination);
  const archive = await openArchive(
    source,
    parent ?? tmpdir(),
    destination === null ? 'zip' : basename(destination),
    opts.maxArchiveBytes,
    signal,
  );
  let staging: Staging | null = null;
  try {
    let plans: PlannedEntry[];
    try {
      plans = await readCatalog(archive, opts);
    } catch (err) {
      throw asBadInput(err, signal, 'zip archive');
    }
    if (destination !== null && parent !== null) {
      const owned = await createOwnedDir(parent, basename(destination));
      staging = { dir: owned.path, owned, outputs: new NameRegistry(opts.foldCase) };
    }
    const { files, bytes } = await extractEntries(archive, plans, opts, staging);
    signal?.throwIfAborted();
    if (staging !== null && destination !== null) {
      await commit(staging.dir, destination);
      await staging.owned.release();
      staging = null;
    }
    debug('extractZip: %d entries, %d files, %d bytes', plans.length, files, bytes);
    return { destination, entries: plans.length, files, bytes };
  } finally {
    if (staging !== null) {
      await rm(staging.dir, { recursive: true, force: true }).catch(noop);
      await staging.owned.release();
    }
    await archive.close();
  }
}
