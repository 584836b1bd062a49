/**
 * Lazy loader for the optional native addon (`native/slabio.cc`, built by `npm install` with
 * node-gyp-build). Nothing is loaded at import time and nothing here throws: callers ask
 * {@link loadBinding} and get `null` plus a recorded reason when the addon is missing.
 *
 * The loaded addon is wrapped once here, so that no caller sees its raw rejections: every
 * promise-returning call checks `fd` (where it takes one) and rejects with an error shaped like
 * Node's fs errors (`code` the errno name, negative `errno`, `syscall`; see `system-error.ts`).
 *
 * @module
 */
import { createRequire } from 'node:module';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debug, warnOnce } from '../debug.js';
import { UnsupportedError } from '../errors.js';
import { asNodeError } from './system-error.js';

/** Counters from `cachestat(2)`, converted from pages to bytes. */
export interface RawCachestat {
  cachedBytes: number;
  dirtyBytes: number;
  writebackBytes: number;
  evictedBytes: number;
  recentlyEvictedBytes: number;
}

/** Result of the `mmap` + `mincore(2)` residency scan. */
export interface RawMincore {
  bytes: number;
  cachedBytes: number;
  /** False when the kernel hides residency (caller neither owns nor may write the file). */
  exact: boolean;
}

/** Result of the addon's bounded directory scan. */
export interface RawDirScan {
  names: string[];
  /** Entries read. */
  scanned: number;
  /** Whether the whole directory was read (false: stopped at `maxEntries`). */
  complete: boolean;
}

/**
 * The memory guard's wake-up thread (`native/cgroup-watch.cc`): calls back once per {@link arm}
 * when the cgroup's working set is at or above the armed bytes.
 */
export interface RawCgroupWatcher {
  /**
   * Call back once when `usage − inactive_file` ≥ `bytes`; a negative value disarms. `thresholds`
   * are registered with the kernel ahead of being armed (each registration waits for an RCU grace
   * period).
   */
  arm(bytes: number, thresholds?: number[]): void;
  /** Stop the thread and close its descriptors. Idempotent. */
  close(): void;
  /**
   * `'eventfd'` while cgroup v1 usage thresholds wake the thread, `'poll'` while it re-reads,
   * `'starting'` before the first threshold is registered.
   */
  mode(): 'eventfd' | 'poll' | 'starting';
}

/** Constructor of {@link RawCgroupWatcher}; throws an Error with a negative `errno` and `syscall` when a file cannot be opened. */
export type RawCgroupWatcherClass = new (
  usageFile: string,
  statFile: string,
  inactiveKey: string,
  eventControl: string | null,
  periodMs: number,
  onCross: (usage: number, workingSet: number, errno: number) => void,
) => RawCgroupWatcher;

/** Numeric constants the addon exports (Linux only). */
export interface NativeConstants {
  POSIX_FADV_NORMAL: number;
  POSIX_FADV_RANDOM: number;
  POSIX_FADV_SEQUENTIAL: number;
  POSIX_FADV_WILLNEED: number;
  POSIX_FADV_DONTNEED: number;
  POSIX_FADV_NOREUSE: number;
  SYNC_FILE_RANGE_WAIT_BEFORE: number;
  SYNC_FILE_RANGE_WRITE: number;
  SYNC_FILE_RANGE_WAIT_AFTER: number;
  RWF_DONTCACHE: number;
  PAGE_SIZE: number;
}

/**
 * The addon surface as {@link loadBinding} returns it. The Linux-only members are absent on other
 * platforms. The promise-returning calls throw a `RangeError` for an `fd` outside 0..0x7fffffff and
 * reject with a Node-shaped system error (`code: 'EBADF'`, …), never with the addon's raw error.
 */
export interface NativeBinding {
  mallocTrim(): boolean;
  mallocInfo(): {
    arenaBytes: number;
    inUseBytes: number;
    freeBytes: number;
    mmapBytes: number;
    releasableBytes: number;
  } | null;
  glibc: boolean;
  linux: boolean;
  fadvise?: (fd: number, offset: number, length: number, advice: number) => Promise<void>;
  syncFileRange?: (fd: number, offset: number, length: number, flags: number) => Promise<void>;
  pwritev2?: (
    fd: number,
    buffers: Uint8Array[],
    position: number,
    flags: number,
  ) => Promise<number>;
  preadv2?: (fd: number, buffers: Uint8Array[], position: number, flags: number) => Promise<number>;
  cachestat?: (fd: number, offset: number, length: number) => Promise<RawCachestat>;
  mincore?: (fd: number) => Promise<RawMincore>;
  /**
   * `flock(fd, LOCK_EX | LOCK_NB)`: true when taken, false when another open file description
   * holds the lock. The kernel drops it when the description's last descriptor closes.
   */
  tryLock?: (fd: number) => Promise<boolean>;
  /**
   * Read at most `maxEntries` entries of the directory `path` (not `.` and `..`) in one threadpool
   * job; `names` are those containing `needle`.
   */
  scanDir?: (path: string, maxEntries: number, needle: string) => Promise<RawDirScan>;
  constants?: NativeConstants;
  CgroupWatcher?: RawCgroupWatcherClass;
}

/** The Linux addon with every syscall present. */
export type LinuxBinding = Required<NativeBinding>;

/**
 * Where the loaded addon binary came from: `'prebuild'` (a binary shipped in the package under
 * `prebuilds/`), `'local-build'` (compiled on this machine into `build/` at install or by
 * `npm rebuild`), or `'none'` (not loaded).
 */
export type NativeSource = 'prebuild' | 'local-build' | 'none';

/** The addon binary in use: its {@link NativeSource} and file (`null` when none loaded). */
export interface NativeOrigin {
  source: NativeSource;
  path: string | null;
}

interface LoadState {
  binding: NativeBinding | null;
  error: Error | null;
  origin: NativeOrigin;
  /** Turned off by `SLABIO_NATIVE=0` rather than failed to load. */
  disabled: boolean;
}

interface NodeGypBuild {
  /** The binary node-gyp-build would load: build/Release first, then a matching prebuild. */
  resolve(dir: string): string;
}

let state: LoadState | undefined;

// dist/src/native/binding.js -> package root, where node-gyp-build looks for build/ and prebuilds/.
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `call` with its rejection given Node's fs error shape. Arguments are checked by the public entry
 * points (src/validate.ts), and the addon itself refuses an fd outside 0..0x7fffffff with a
 * synchronous RangeError, so nothing here checks them again.
 */
function guarded<A extends unknown[], R>(
  call: (fd: number, ...rest: A) => Promise<R>,
): (fd: number, ...rest: A) => Promise<R> {
  return (fd, ...rest) => {
    return call(fd, ...rest).catch((err: unknown) => {
      throw asNodeError(err);
    });
  };
}

/** A copy of the addon whose promise-returning calls are {@link guarded}; the rest as it is. */
function withNodeErrors(raw: NativeBinding): NativeBinding {
  const b: NativeBinding = { ...raw };
  if (raw.fadvise) b.fadvise = guarded(raw.fadvise);
  if (raw.syncFileRange) b.syncFileRange = guarded(raw.syncFileRange);
  if (raw.pwritev2) b.pwritev2 = guarded(raw.pwritev2);
  if (raw.preadv2) b.preadv2 = guarded(raw.preadv2);
  if (raw.cachestat) b.cachestat = guarded(raw.cachestat);
  if (raw.mincore) b.mincore = guarded(raw.mincore);
  if (raw.tryLock) b.tryLock = guarded(raw.tryLock);
  const scanDir = raw.scanDir;
  if (scanDir) {
    b.scanDir = (path, maxEntries, needle) =>
      scanDir(path, maxEntries, needle).catch((err: unknown) => {
        throw asNodeError(err, path);
      });
  }
  return b;
}

const notLoaded: NativeOrigin = { source: 'none', path: null };

function load(): LoadState {
  if (process.env.SLABIO_NATIVE === '0') {
    return {
      binding: null,
      error: new Error('disabled by the environment (SLABIO_NATIVE=0)'),
      origin: notLoaded,
      disabled: true,
    };
  }
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
    // Resolved and loaded in two steps (node-gyp-build does the same inside) so the origin is known.
    const file = nodeGypBuild.resolve(packageRoot);
    const binding = withNodeErrors(require(file) as NativeBinding);
    const inPrebuilds = relative(packageRoot, file).split(sep)[0] === 'prebuilds';
    debug('native addon loaded from %s', file);
    return {
      binding,
      error: null,
      origin: { source: inPrebuilds ? 'prebuild' : 'local-build', path: file },
      disabled: false,
    };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    debug('native addon not loaded: %s', error.message);
    return { binding: null, error, origin: notLoaded, disabled: false };
  }
}

/** The addon, loading it on first use; `null` when it is missing or disabled. Never throws. */
export function loadBinding(): NativeBinding | null {
  state ??= load();
  return state.binding;
}

/** Whether the native addon loaded. Loads it on first call; never throws. */
export function nativeAvailable(): boolean {
  return loadBinding() !== null;
}

/** Which addon binary is in use (a shipped prebuild or a local build), loading it on first call. */
export function nativeOrigin(): NativeOrigin {
  loadBinding();
  return state?.origin ?? notLoaded;
}

/** Why the native addon did not load, or `null` when it did. */
export function nativeLoadError(): Error | null {
  loadBinding();
  return state?.error ?? null;
}

function reasonText(): string {
  const err = nativeLoadError();
  if (err !== null) return err.message.split('\n')[0] ?? 'unknown error';
  return `not supported on ${process.platform}`;
}

/**
 * Why page-cache control is off here and what to do about it, in one sentence: disabled by
 * `SLABIO_NATIVE=0` (unset it), failed to load (the load error; rebuild it, which needs a
 * compiler), or loaded on a platform without the Linux calls (nothing to do).
 */
export function noNativeReason(): string {
  loadBinding();
  if (state?.disabled === true) {
    return 'the native addon is disabled by SLABIO_NATIVE=0; unset SLABIO_NATIVE to enable it';
  }
  if (state?.binding != null) {
    return `page-cache control needs Linux, this is ${process.platform}; nothing to rebuild`;
  }
  return `the native addon failed to load (${reasonText()}); run \`npm rebuild slabio --foreground-scripts\` with python3, make and a C++ compiler installed to build it, and see its output`;
}

/**
 * The Linux addon for a cache-control feature, or `null` after emitting the one-time
 * `SLABIO_NO_NATIVE` warning. For callers that fall back to plain IO.
 */
export function linuxBindingOrWarn(feature: string): LinuxBinding | null {
  const b = loadBinding();
  if (b?.linux === true && b.constants !== undefined) return b as LinuxBinding;
  warnOnce(
    'SLABIO_NO_NATIVE',
    `slabio: ${feature} and other page-cache control are off (files are written and read normally, residency() is unavailable): ${noNativeReason()}.`,
  );
  return null;
}

/**
 * The Linux addon for a feature that cannot work without it.
 *
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` when the addon is missing.
 */
export function requireLinuxBinding(feature: string): LinuxBinding {
  const b = linuxBindingOrWarn(feature);
  if (b === null) {
    throw new UnsupportedError(`${feature} needs the slabio native addon: ${noNativeReason()}`, {
      cause: nativeLoadError() ?? undefined,
    });
  }
  return b;
}
