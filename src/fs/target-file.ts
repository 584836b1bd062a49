/**
 * The file a writer writes to: the final path, or a temporary sibling that is renamed over it on
 * success (atomic mode). Either way a failure leaves nothing half-written under the final name.
 *
 * @module
 */

import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { debug } from '../debug.js';
import { UnsupportedError } from '../errors.js';
import { createOwnedFile } from './owned-temp.js';
import { checkStillReplaceable, replaceTarget } from './replace-target.js';

const { O_WRONLY, O_CREAT, O_TRUNC, O_NONBLOCK } = constants;
const NEW_FILE_MODE = 0o666;

/**
 * Give the temp file that will replace `old` the old file's owner, group and permission bits, as
 * a write in place keeps them (a 0600 file must not come back 0644, an executable must stay so).
 * The owner is set first (chown clears set-id bits), and only where it differs; a process that
 * may not give files away (EPERM) keeps its own, as `cp` without privileges does.
 */
async function keepOwnership(fh: FileHandle, old: Stats): Promise<void> {
  const mine = await fh.stat();
  if (mine.uid !== old.uid || mine.gid !== old.gid) {
    await fh.chown(old.uid, old.gid).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    });
  }
  await fh.chmod(old.mode & 0o7777);
}

/**
 * Open an existing or new file for writing in place. `O_NONBLOCK` so that a FIFO with no reader
 * fails at once (`ENXIO`) instead of parking a thread-pool thread in `open()` until one comes; it
 * changes nothing for regular files. A FIFO or socket that did open is refused: the no-cache
 * writers' page-cache control means nothing there, and their writes would block the same way.
 */
async function openInPlace(
  path: string,
  mode: number,
): Promise<{ fh: FileHandle; regular: boolean }> {
  const fh = await open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, mode);
  const stat = await fh.stat().catch(async (err: unknown) => {
    await fh.close();
    throw err;
  });
  if (stat.isFIFO() || stat.isSocket()) {
    await fh.close();
    throw new UnsupportedError(
      `${path} is a ${stat.isFIFO() ? 'FIFO' : 'socket'}: the no-cache writers write files`,
    );
  }
  return { fh, regular: stat.isFile() };
}

/** An open output file and how to finish or undo it. */
export class TargetFile {
  /** What the caller named. */
  #path: string;
  /** What the write replaces: `#path`, or in atomic mode the end of its symbolic links. */
  #finalPath: string;
  #writePath: string;
  #atomic: boolean;
  #locked: boolean;
  #regular: boolean;
  #fh: FileHandle | null;

  private constructor(
    path: string,
    finalPath: string,
    writePath: string,
    atomic: boolean,
    locked: boolean,
    fh: FileHandle,
    regular = true,
  ) {
    this.#path = path;
    this.#finalPath = finalPath;
    this.#writePath = writePath;
    this.#atomic = atomic;
    this.#locked = locked;
    this.#regular = regular;
    this.#fh = fh;
  }

  /**
   * Open `path` for writing (truncating), or, when `atomic`, a fresh temp file next to the file
   * it will replace (`path`, or the end of its symbolic links: see `replaceTarget`) whose name
   * tells a later sweep who owns it (the directory is swept first, see `sweepStale`).
   * @throws {DestinationError} in atomic mode, before any temp file exists, when what `path`
   * names is not a regular file.
   */
  static async open(path: string, atomic: boolean, mode: number | undefined): Promise<TargetFile> {
    if (!atomic) {
      const { fh, regular } = await openInPlace(path, mode ?? NEW_FILE_MODE);
      return new TargetFile(path, path, path, false, false, fh, regular);
    }
    const target = await replaceTarget(path);
    // replaceTarget refused anything but a regular file: what is there now is one, or nothing.
    const old = mode === undefined ? await stat(target).catch(() => null) : null;
    const t = await createOwnedFile(
      dirname(target),
      basename(target),
      'tmp',
      mode ?? NEW_FILE_MODE,
    );
    if (old !== null) {
      await keepOwnership(t.handle, old).catch(async (err: unknown) => {
        // Unlinked before the handle (and with it the owner's lock) goes: see createOwnedFile.
        await unlink(t.path).catch(() => {});
        await t.handle.close().catch(() => {});
        throw err;
      });
    }
    return new TargetFile(path, target, t.path, true, t.locked, t.handle);
  }

  /**
   * Whether a regular file is being written: a device written in place (`/dev/null`) has no
   * page cache to bound, and may refuse the calls that bound it.
   */
  get regular(): boolean {
    return this.#regular;
  }

  /** The open handle. */
  get handle(): FileHandle {
    if (this.#fh === null) throw new Error('target file is closed');
    return this.#fh;
  }

  /** The path being written (the temp path in atomic mode). */
  get writePath(): string {
    return this.#writePath;
  }

  /** Make the data durable as asked, close, and in atomic mode rename into place. */
  async commit(fsync: boolean): Promise<void> {
    const fh = this.handle;
    // rename() is only atomic for readers after a crash if the data reached the disk first.
    if (fsync) await fh.sync();
    else if (this.#atomic) await fh.datasync();
    if (this.#atomic) await checkStillReplaceable(this.#finalPath, this.#path);
    if (this.#locked) {
      // The flock on the temp file says "owner alive" to sweepers: keep it until the name is gone.
      await rename(this.#writePath, this.#finalPath);
      this.#fh = null;
      // The data is already on disk (fsync/fdatasync above) and under its final name.
      await fh.close().catch((err: unknown) => debug('close %s: %s', this.#path, String(err)));
    } else {
      this.#fh = null;
      await fh.close();
      if (!this.#atomic) return;
      await rename(this.#writePath, this.#finalPath);
    }
    // The rename itself lives in the directory: fsync it so the new name survives a crash.
    const dir = await open(dirname(this.#finalPath), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Close and remove what was written. Never throws: the original error is what matters. */
  async abort(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    const remove = () =>
      unlink(this.#writePath).catch((err: unknown) => {
        debug('could not remove %s: %s', this.#writePath, String(err));
      });
    // A locked temp file must not look abandoned while it still has a name: unlink, then close.
    if (this.#locked) await remove();
    if (fh !== null) await fh.close().catch(() => {});
    if (!this.#locked) await remove();
  }
}
