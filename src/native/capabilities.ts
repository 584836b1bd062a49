/**
 * What page-cache control works here, and why not where it does not. Probed once per filesystem
 * (by device id) and cached for the life of the process.
 *
 * @module
 */
import { open, stat, statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toPath } from '../validate.js';
import {
  type LinuxBinding,
  loadBinding,
  type NativeOrigin,
  nativeLoadError,
  nativeOrigin,
} from './binding.js';
import { tempNames } from './owner.js';
import { errnoCode, refusedDontcache } from './system-error.js';

/** One capability: whether it works and, when not, why. */
export interface Capability {
  available: boolean;
  /** Why it is off (absent when available). */
  reason?: string;
}

/** The result of {@link capabilities}. */
export interface Capabilities {
  /** The native addon: loaded, or the load error. */
  native: Capability;
  /**
   * Which addon binary is in use: `source` is `'prebuild'` (shipped in the package for this
   * platform), `'local-build'` (compiled here at install) or `'none'`; `path` is its file.
   */
  addon: NativeOrigin;
  /** `malloc_trim` / `mallinfo2` (glibc only). */
  mallocTrim: Capability;
  /** `posix_fadvise` on the probed filesystem. */
  fadvise: Capability;
  /** `sync_file_range` on the probed filesystem. */
  syncFileRange: Capability;
  /** `pwritev2(RWF_DONTCACHE)` on the probed filesystem (Linux >= 6.14, not tmpfs). */
  dontcache: Capability;
  /** `cachestat(2)` (Linux >= 6.5); otherwise residency falls back to `mmap` + `mincore`. */
  cachestat: Capability;
  /** The probed directory and its filesystem. */
  filesystem: { dir: string; type: string; device: number };
  /** Whether the filesystem keeps its data in memory (tmpfs, ramfs): dropping cache cannot help. */
  memoryBacked: boolean;
}

const FS_TYPES: Record<number, string> = {
  61267: 'ext4',
  16914836: 'tmpfs',
  2240043254: 'ramfs',
  1481003842: 'xfs',
  2435016766: 'btrfs',
  2035054128: 'overlayfs',
  26985: 'nfs',
  4283649346: 'cifs',
  801189825: 'zfs',
  1702057286: 'fuse',
  4076150800: 'f2fs',
};

interface FsProbe {
  fadvise: Capability;
  syncFileRange: Capability;
  dontcache: Capability;
  cachestat: Capability;
}

const probes = new Map<number, Promise<FsProbe>>();

const ok: Capability = { available: true };
function off(reason: string): Capability {
  return { available: false, reason };
}
/** The errno name of a probe's failure, or its message when it is not one from the kernel. */
function failure(err: unknown): string {
  return errnoCode(err) ?? (err instanceof Error ? err.message : String(err));
}

async function probeOnce(dir: string, fsType: string): Promise<FsProbe> {
  const b = loadBinding();
  if (b?.linux !== true || b.constants === undefined) {
    const why = nativeLoadError()?.message.split('\n')[0] ?? `not supported on ${process.platform}`;
    const r = off(`native addon unavailable: ${why}`);
    return { fadvise: r, syncFileRange: r, dontcache: r, cachestat: r };
  }
  const lb = b as LinuxBinding;
  const c = lb.constants;
  // A real file on the filesystem in question: RWF_DONTCACHE support is per filesystem.
  // Named like slabio's other temp files, so that one left by a killed process is swept.
  const path = join(dir, tempNames('', 'probe').unlocked);
  const fh = await open(path, 'wx+', 0o600);
  try {
    const page = Buffer.alloc(c.PAGE_SIZE);
    const result: FsProbe = { fadvise: ok, syncFileRange: ok, dontcache: ok, cachestat: ok };
    await lb.pwritev2(fh.fd, [page], 0, c.RWF_DONTCACHE).catch((err: unknown) => {
      result.dontcache = off(
        refusedDontcache(err)
          ? `RWF_DONTCACHE refused on ${fsType} (${failure(err)}): needs Linux >= 6.14 and a filesystem that supports uncached buffered IO`
          : `RWF_DONTCACHE probe failed: ${failure(err)}`,
      );
    });
    await lb.syncFileRange(fh.fd, 0, 0, c.SYNC_FILE_RANGE_WRITE).catch((err: unknown) => {
      result.syncFileRange = off(`sync_file_range failed on ${fsType}: ${failure(err)}`);
    });
    await lb.fadvise(fh.fd, 0, 0, c.POSIX_FADV_DONTNEED).catch((err: unknown) => {
      result.fadvise = off(`posix_fadvise failed on ${fsType}: ${failure(err)}`);
    });
    await lb.cachestat(fh.fd, 0, 0).catch((err: unknown) => {
      const errno = failure(err);
      result.cachestat = off(
        errno === 'ENOSYS'
          ? 'cachestat needs Linux >= 6.5'
          : errno === 'EPERM'
            ? 'cachestat refused (EPERM): a seccomp filter that predates the syscall blocks it'
            : `cachestat failed: ${errno}`,
      );
    });
    return result;
  } finally {
    await fh.close();
    await unlink(path).catch(() => {});
  }
}

/** The filesystem of `dir`: device id and a type name from `statfs`. */
export async function filesystemOf(dir: string): Promise<{ device: number; type: string }> {
  const [st, sfs] = await Promise.all([stat(dir), statfs(dir)]);
  return { device: st.dev, type: FS_TYPES[sfs.type] ?? `0x${sfs.type.toString(16)}` };
}

/**
 * Report what page-cache control works for files in `dir`: the addon, `fadvise`,
 * `sync_file_range`, `RWF_DONTCACHE` and `cachestat`, each with the reason when off. The first call
 * per filesystem writes and removes one page-sized probe file in `dir`; later calls for the same
 * filesystem are answered from a cache.
 *
 * @param dir A directory (path or `file:` URL) on the filesystem to probe. @default os.tmpdir()
 * @throws {Error} The `fs` error when `dir` cannot be stat'ed or written (not cached: a writable
 * directory on the same filesystem is probed on the next call).
 * @example
 * ```ts
 * const caps = await capabilities('./out');
 * if (!caps.dontcache.available) console.log('no RWF_DONTCACHE:', caps.dontcache.reason);
 * ```
 */
export async function capabilities(dir: string | URL = tmpdir()): Promise<Capabilities> {
  const abs = resolve(toPath('dir', dir));
  const fs = await filesystemOf(abs);
  let probe = probes.get(fs.device);
  if (probe === undefined) {
    probe = probeOnce(abs, fs.type);
    probes.set(fs.device, probe);
    // Only definite answers are cached: a failure to create the probe file says nothing about
    // the filesystem.
    probe.catch(() => probes.delete(fs.device));
  }
  const p = await probe;
  const b = loadBinding();
  const loadError = nativeLoadError();
  const memoryBacked = fs.type === 'tmpfs' || fs.type === 'ramfs';
  return {
    native: loadError === null ? ok : off(loadError.message.split('\n')[0] ?? 'load failed'),
    addon: nativeOrigin(),
    mallocTrim:
      b === null ? off('native addon unavailable') : b.glibc ? ok : off('malloc_trim needs glibc'),
    ...p,
    filesystem: { dir: abs, type: fs.type, device: fs.device },
    memoryBacked,
  };
}
