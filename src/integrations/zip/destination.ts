/**
 * The destination directory of `extractZip`: checking it up front, committing the staging
 * directory into it, undoing the parents created for it. Internal.
 *
 * @module
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, rename, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DestinationError } from '../../errors.js';
import { errnoCode } from '../../native/system-error.js';

/**
 * Refuse a destination that exists and is not an empty directory, before any work is done.
 * lstat, not stat: rename(2) does not follow a symbolic link at the destination (renaming a
 * directory over one fails with ENOTDIR), so a link, even to an empty directory or dangling,
 * would fail only after all the work.
 */
export async function checkDestination(destination: string): Promise<void> {
  let info: Stats;
  try {
    info = await lstat(destination);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (info.isSymbolicLink()) {
    throw new DestinationError(
      destination,
      'symbolic-link',
      'is a symbolic link; pass the directory it points to',
    );
  }
  if (!info.isDirectory()) {
    throw new DestinationError(destination, 'not-directory', 'is not a directory');
  }
  if ((await readdir(destination)).length > 0) {
    throw new DestinationError(destination, 'not-empty', 'is not empty');
  }
}

/** Move the staging directory into place: rename(2) replaces an empty directory atomically. */
export async function commit(staging: string, destination: string): Promise<void> {
  try {
    await rename(staging, destination);
  } catch (err) {
    const code = errnoCode(err);
    // Windows (and some filesystems) refuse to rename over an empty directory: remove it first.
    if (code === 'EPERM' || code === 'EEXIST' || code === 'EACCES') {
      await rmdir(destination).catch((e: unknown) => {
        throw filledMeanwhile(destination, e);
      });
      await rename(staging, destination);
      return;
    }
    throw filledMeanwhile(destination, err);
  }
}

/**
 * The up-front refusal, found late: someone filled the destination during the extraction. The
 * kernel's ENOTEMPTY is the cause; any other error is returned as it is.
 */
function filledMeanwhile(destination: string, err: unknown): unknown {
  if (errnoCode(err) !== 'ENOTEMPTY') return err;
  return new DestinationError(destination, 'not-empty', 'was filled by someone else', {
    cause: err,
  });
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
