/**
 * Options shared by the no-cache writers and reader, their validation, and the choice of strategy.
 *
 * @module
 */
import { dirname, resolve } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { type LinuxBinding, linuxBindingOrWarn, noNativeReason } from '../native/binding.js';
import { capabilities } from '../native/capabilities.js';
import { checkInteger, checkObject, checkSignal, intOption, oneOf, toPath } from '../validate.js';

/**
 * How a writer keeps its page cache bounded.
 * - `'auto'`: `'dontcache'` where the filesystem takes `RWF_DONTCACHE`, else `'windowed'`, and
 *   `'none'` on memory-backed filesystems (tmpfs: the cache *is* the file) or without the addon.
 * - `'dontcache'`: `pwritev2(RWF_DONTCACHE)`, so the kernel drops each page once written back,
 *   plus the same windowed `sync_file_range` + `POSIX_FADV_DONTNEED` steps as `'windowed'`.
 *   RWF_DONTCACHE alone drops pages only when their writeback completes, whenever the kernel gets
 *   to it: a plain RWF_DONTCACHE loop of 512 MiB left 39-73 MiB cached right after the last write,
 *   the writer with its windowed steps 0 bytes.
 * - `'windowed'`: every `windowBytes`, `sync_file_range` starts writeback of the window just written
 *   and `POSIX_FADV_DONTNEED` drops the one before once it is written back.
 * - `'none'`: plain writes (what `fs.createWriteStream` does).
 */
export type CacheStrategy = 'auto' | 'dontcache' | 'windowed' | 'none';

/** A strategy after `'auto'` was resolved. */
export type ResolvedStrategy = Exclude<CacheStrategy, 'auto'>;

/** Options of `createNoCacheWriteStream` and `writeFileNoCache`. */
export interface WriteFileNoCacheOptions {
  /** @default 'auto' */
  strategy?: CacheStrategy;
  /** Bytes per writeback window, a multiple of 4096 and at least 64 KiB. @default 8 MiB */
  windowBytes?: number;
  /**
   * Write to a temporary name in the same directory, `fdatasync`, rename over `path`, fsync the
   * directory. On failure the temporary file is removed and an existing `path` is untouched.
   * A symbolic link is followed to its final target, which is replaced (the link stays); a path
   * that is, after its links, not a regular file (directory, device, FIFO, socket) is refused
   * with a `DestinationError` (`reason: 'not-file'`) before any temporary file exists.
   * @default false
   */
  atomic?: boolean;
  /** `fsync` the file before closing (with `atomic`, instead of `fdatasync`). @default false */
  fsync?: boolean;
  /**
   * File mode for a new file. @default 0o666 (before umask). In atomic mode a file that is
   * replaced keeps its own permission bits (and its owner and group where the process may set
   * them) unless `mode` is given, as a write in place would keep them.
   */
  mode?: number;
  /** Aborting stops the write, removes what was written and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** The strategy for what was opened: `'auto'` writes a device (not a regular file) plainly. */
export function strategyFor(
  requested: CacheStrategy,
  chosen: ResolvedStrategy,
  regular: boolean,
): ResolvedStrategy {
  return requested === 'auto' && !regular ? 'none' : chosen;
}

/** Validated options with defaults applied. */
export interface WriteSettings {
  /** The target as a path (a `file:` URL converted). */
  path: string;
  strategy: CacheStrategy;
  windowBytes: number;
  atomic: boolean;
  fsync: boolean;
  /** `undefined` when not given: new files get 0o666, replaced ones keep theirs. */
  mode: number | undefined;
  signal: AbortSignal | undefined;
}

/**
 * Default writeback window: 8 MiB. Small enough that a container's dirty pages stay far below its
 * limit, large enough for sequential writeback; PostgreSQL's `*_flush_after` bounds it the same way.
 */
export const DEFAULT_WINDOW_BYTES = 8 << 20;
const MIN_WINDOW_BYTES = 64 << 10;
const STRATEGIES: readonly CacheStrategy[] = ['auto', 'dontcache', 'windowed', 'none'];

/** Validate `path` and write options; throws TypeError/RangeError naming the option. */
export function writeSettings(path: unknown, options: WriteFileNoCacheOptions): WriteSettings {
  const file = toPath('path', path);
  checkObject('options', options);
  const strategy = oneOf('options.strategy', options.strategy, STRATEGIES, 'auto');
  const windowBytes = intOption('options.windowBytes', options.windowBytes, DEFAULT_WINDOW_BYTES);
  if (windowBytes < MIN_WINDOW_BYTES || windowBytes % 4096 !== 0) {
    throw new RangeError(
      `options.windowBytes must be a multiple of 4096 and at least ${MIN_WINDOW_BYTES}, got ${windowBytes}`,
    );
  }
  const mode = options.mode === undefined ? undefined : checkInteger('options.mode', options.mode);
  const signal = checkSignal(options.signal);
  signal?.throwIfAborted();
  return {
    path: file,
    strategy,
    windowBytes,
    atomic: options.atomic === true,
    fsync: options.fsync === true,
    mode,
    signal,
  };
}

/** The strategy chosen for a file, and the addon it needs. */
export interface StrategyChoice {
  strategy: ResolvedStrategy;
  binding: LinuxBinding | null;
}

/**
 * Resolve `'auto'` against what the filesystem of `path` supports; check that a forced strategy can
 * run at all.
 *
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` for a forced strategy that cannot work here.
 */
export async function chooseStrategy(
  requested: CacheStrategy,
  path: string,
): Promise<StrategyChoice> {
  if (requested === 'none') return { strategy: 'none', binding: null };
  const binding = linuxBindingOrWarn('page-cache-bounded writing');
  if (binding === null) {
    if (requested === 'auto') return { strategy: 'none', binding: null };
    throw new UnsupportedError(
      `strategy '${requested}' needs the slabio native addon: ${noNativeReason()}`,
    );
  }
  // A directory that cannot be probed (missing, not a directory, not writable) is not the error
  // to report: the open that follows fails with the one naming the file, exactly as it does
  // without the addon. Should that open succeed after all, the write goes plainly.
  const caps = await capabilities(dirname(resolve(path))).catch(() => null);
  if (caps === null) return { strategy: requested === 'auto' ? 'none' : requested, binding };
  if (requested === 'dontcache' && !caps.dontcache.available) {
    throw new UnsupportedError(`strategy 'dontcache' is not available: ${caps.dontcache.reason}`);
  }
  if (requested !== 'auto') return { strategy: requested, binding };
  if (caps.memoryBacked) return { strategy: 'none', binding };
  if (caps.dontcache.available) return { strategy: 'dontcache', binding };
  if (caps.syncFileRange.available && caps.fadvise.available) {
    return { strategy: 'windowed', binding };
  }
  return { strategy: 'none', binding };
}
