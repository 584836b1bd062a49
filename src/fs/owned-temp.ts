/**
 * Creating slabio's temporary files and directories so that a later sweep can tell whether their
 * owner is gone: the name carries this process's identity (see `native/owner.ts`) and, with the
 * addon on Linux, the owner holds `flock(LOCK_EX)` on it until it is renamed or removed. The
 * kernel drops that lock when the process dies however it dies, and every process on the kernel
 * sees it whatever its pid namespace. Each creation first sweeps the directory (bounded, see
 * `auto-sweep.ts`). Internal.
 *
 * @module
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { debug } from '../debug.js';
import { SystemError } from '../errors.js';
import { loadBinding } from '../native/binding.js';
import { ownerIdentity, type TempKind, tempName } from '../native/owner.js';
import { sweepBeforeWrite } from './auto-sweep.js';

// A sweeper can only take a file in the instant between its creation and our flock; a second
// time in a row means something else is wrong.
const ATTEMPTS = 5;

function noop(): void {}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** `flock` from the addon when the name's lock flag can be trusted: Linux with a boot id. */
function lockCall(): ((fd: number) => Promise<boolean>) | undefined {
  const b = loadBinding();
  return b?.linux === true && ownerIdentity().host.startsWith('b') ? b.tryLock : undefined;
}

/**
 * Lock `fh` and check it still has a name. A sweeper judges a locked-format name by taking the
 * lock itself and removes it while holding it, so once we hold the lock and the link count is
 * not 0 nobody can remove it any more; if a sweeper got in first (between open and flock) the
 * caller starts over with a new name. `null` when the filesystem refuses flock (ENOLCK from an
 * NFS lock manager, ...): the caller starts over with an unlocked name.
 */
async function lockFresh(
  fh: FileHandle,
  lock: (fd: number) => Promise<boolean>,
): Promise<boolean | null> {
  let got: boolean;
  try {
    got = await lock(fh.fd);
  } catch (err) {
    debug('flock refused (%s): temp files here carry no lock', String(err));
    return null;
  }
  return got && (await fh.stat()).nlink > 0;
}

function tooManyAttempts(path: string): SystemError {
  return new SystemError(
    'flock',
    'EAGAIN',
    `${path}: removed by a concurrent sweep ${ATTEMPTS} times in a row`,
  );
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
  let lock = lockCall();
  for (let attempt = 1; ; attempt++) {
    const path = join(dir, tempName(base, kind, lock !== undefined));
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx', mode);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST' && attempt < ATTEMPTS) continue;
      throw err;
    }
    if (lock === undefined) return { path, handle, locked: false };
    const ok = await lockFresh(handle, lock).catch(async (err: unknown) => {
      await handle.close().catch(noop);
      await unlink(path).catch(noop);
      throw err;
    });
    if (ok === true) return { path, handle, locked: true };
    await unlink(path).catch(noop);
    await handle.close().catch(noop);
    if (ok === null) lock = undefined;
    else if (attempt >= ATTEMPTS) throw tooManyAttempts(path);
  }
}

/** A temporary directory this process owns. */
export interface OwnedDir {
  readonly path: string;
  /** Drop the lock: after the directory was renamed into place or removed. Never throws. */
  release(): Promise<void>;
}

/** Create a fresh temporary directory (mode 0700) named after `base` in `parent`, after a sweep. */
export async function createOwnedDir(parent: string, base: string): Promise<OwnedDir> {
  await sweepBeforeWrite(parent);
  let lock = lockCall();
  for (let attempt = 1; ; attempt++) {
    const path = join(parent, tempName(base, 'staging', lock !== undefined));
    try {
      await mkdir(path, 0o700);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST' && attempt < ATTEMPTS) continue;
      throw err;
    }
    if (lock === undefined) return { path, release: async () => {} };
    let handle: FileHandle;
    let ok: boolean | null;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      await rm(path, { recursive: true, force: true }).catch(noop);
      throw err;
    }
    try {
      ok = await lockFresh(handle, lock);
    } catch (err) {
      await rm(path, { recursive: true, force: true }).catch(noop);
      await handle.close().catch(noop);
      throw err;
    }
    if (ok === true) {
      const held = handle;
      return { path, release: () => held.close().catch(noop) };
    }
    await rm(path, { recursive: true, force: true }).catch(noop);
    await handle.close().catch(noop);
    if (ok === null) lock = undefined;
    else if (attempt >= ATTEMPTS) throw tooManyAttempts(path);
  }
}
