/**
 * Creating slabio's temporary files and directories so that a later sweep can tell whether their
 * owner is gone: the name carries this process's identity (see `native/owner.ts`) and, with the
 * addon on Linux, the owner holds `flock(LOCK_EX)` on the entry for as long as it has its name.
 * The kernel drops that lock when the process dies however it dies, and every process on the
 * kernel sees it whatever its pid namespace. Each creation first sweeps the directory (bounded,
 * see `auto-sweep.ts`). Internal.
 *
 * An entry cannot be created and locked in one step, so it is created under a pending name
 * (flag `p`, judged like an unlocked one), locked, and only then renamed to its locked name (flag
 * `l`). A sweeper that finds the lock of an `l` name free therefore knows its owner let go of it
 * for good.
 *
 * @module
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { debug } from '../debug.js';
import { loadBinding } from '../native/binding.js';
import { ownerIdentity, type TempKind, type TempNames, tempNames } from '../native/owner.js';
import { errnoCode } from '../native/system-error.js';
import { sweepBeforeWrite } from './auto-sweep.js';

// Names are random (48 bits): a collision (EEXIST) twice in a row means something else is wrong.
const ATTEMPTS = 3;

function noop(): void {}

/** `flock` from the addon when a lock can be trusted by sweepers: Linux with a boot id. */
function lockCall(): ((fd: number) => Promise<boolean>) | undefined {
  const b = loadBinding();
  return b?.linux === true && ownerIdentity().host.startsWith('b') ? b.tryLock : undefined;
}

/** `create(names)` with fresh names until one does not exist yet. */
async function fresh<T>(
  base: string,
  kind: TempKind,
  create: (names: TempNames) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create(tempNames(base, kind));
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST' || attempt >= ATTEMPTS) throw err;
    }
  }
}

/**
 * Lock `fd`. `false` when the filesystem refuses flock (ENOLCK from an NFS lock manager, ...):
 * the entry keeps its pending name, which sweepers judge like an unlocked one.
 */
async function lock(call: (fd: number) => Promise<boolean>, fd: number): Promise<boolean> {
  try {
    // Nobody else locks a pending name, so this cannot find the lock held.
    return await call(fd);
  } catch (err) {
    debug('flock refused (%s): the temp entry stays unlocked', String(err));
    return false;
  }
}

/** A temporary file this process owns. */
export interface OwnedFile {
  readonly path: string;
  /** Open for writing; closing it drops the lock. */
  readonly handle: FileHandle;
  /** Whether `handle` holds the flock the name promises: close it only after rename/unlink. */
  readonly locked: boolean;
}

/**
 * Create a fresh temporary file (`O_EXCL`) named after `base` in `dir`, after a bounded sweep of
 * `dir`.
 */
export async function createOwnedFile(
  dir: string,
  base: string,
  kind: TempKind,
  mode: number,
): Promise<OwnedFile> {
  await sweepBeforeWrite(dir);
  const call = lockCall();
  return fresh(base, kind, async (names) => {
    if (call === undefined) {
      const path = join(dir, names.unlocked);
      return { path, handle: await open(path, 'wx', mode), locked: false };
    }
    const pending = join(dir, names.pending);
    const handle = await open(pending, 'wx', mode);
    try {
      if (!(await lock(call, handle.fd))) return { path: pending, handle, locked: false };
      const path = join(dir, names.locked);
      await rename(pending, path);
      return { path, handle, locked: true };
    } catch (err) {
      await unlink(pending).catch(noop);
      await handle.close().catch(noop);
      throw err;
    }
  });
}

/** A temporary directory this process owns. */
export interface OwnedDir {
  readonly path: string;
  /** Drop the lock: after the directory was renamed into place or removed. Never throws. */
  release(): Promise<void>;
}

const unlockedDir = (path: string): OwnedDir => ({ path, release: async () => {} });

/**
 * Create a fresh temporary directory (mode 0700) named after `base` in `parent`, after a sweep:
 * `'staging'` for a zip extraction, `'work'` for a scratch directory.
 */
export async function createOwnedDir(
  parent: string,
  base: string,
  kind: 'staging' | 'work' = 'staging',
): Promise<OwnedDir> {
  await sweepBeforeWrite(parent);
  const call = lockCall();
  return fresh(base, kind, async (names) => {
    if (call === undefined) {
      const path = join(parent, names.unlocked);
      await mkdir(path, 0o700);
      return unlockedDir(path);
    }
    const pending = join(parent, names.pending);
    await mkdir(pending, 0o700);
    let handle: FileHandle | null = null;
    try {
      handle = await open(pending, constants.O_RDONLY | constants.O_DIRECTORY);
      if (!(await lock(call, handle.fd))) {
        await handle.close();
        return unlockedDir(pending);
      }
      const path = join(parent, names.locked);
      await rename(pending, path);
      const held = handle;
      return { path, release: () => held.close().catch(noop) };
    } catch (err) {
      await rm(pending, { recursive: true, force: true }).catch(noop);
      await handle?.close().catch(noop);
      throw err;
    }
  });
}
