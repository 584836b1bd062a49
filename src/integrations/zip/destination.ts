/**
 * The destination directory of `extractZip`: checking it up front, committing the staging
 * directory into it, undoing the parents created for it. Internal.
 *
 * @module
 */
import { readdir, rename, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SystemError } from '../../errors.js';

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Refuse a destination that exists and is not an empty directory, before any work is done. */
export async function checkDestination(destination: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(destination)).isDirectory();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  if (!isDir) throw new SystemError('extractZip', 'ENOTDIR', `${destination} is not a directory`);
  if ((await readdir(destination)).length > 0) {
    throw new SystemError('extractZip', 'ENOTEMPTY', `${destination} is not empty`);
  }
}

/** Move the staging directory into place: rename(2) replaces an empty directory atomically. */
export async function commit(staging: string, destination: string): Promise<void> {
  try {
    await rename(staging, destination);
  } catch (err) {
    const code = errnoOf(err);
    // Windows (and some filesystems) refuse to rename over an empty directory: remove it first.
    if (code === 'EPERM' || code === 'EEXIST' || code === 'EACCES') {
      await rmdir(destination);
      await rename(staging, destination);
      return;
    }
    if (code === 'ENOTEMPTY') {
      throw new SystemError('extractZip', code, `${destination} was filled by someone else`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Remove the empty directories `mkdir -p` created, from `dir` up to `created` (its first one).
 * rmdir only removes empty directories, so anything someone else put there stays.
 */
export async function removeCreated(dir: string, created: string): Promise<void> {
  for (let d = dir; d.length >= created.length; d = dirname(d)) {
    if (
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (d === created) return;
  }
}
