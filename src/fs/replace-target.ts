/**
 * What an atomic write renames its temp file over. rename(2) replaces the directory entry it is
 * given, whatever that entry is: a symbolic link would be replaced by a file (where a write in
 * place goes through the link), a device, FIFO or socket by a regular file (a writer running as
 * root would replace `/dev/null` for the whole machine). So the entry is resolved and judged
 * before a temp file exists, and judged again just before the rename. Internal.
 *
 * @module
 */
import type { Stats } from 'node:fs';
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DestinationError } from '../errors.js';
import { errnoCode } from '../native/system-error.js';

// Linux's limit on links followed in one path lookup (MAXSYMLINKS): past it, open() says ELOOP.
const MAX_LINKS = 40;

/** What a non-regular entry is, for the message. */
function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'directory';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isFIFO()) return 'FIFO';
  if (info.isSocket()) return 'socket';
  if (info.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

function notFile(target: string, path: string, info: Stats, when: string): DestinationError {
  const through = target === path ? '' : ` (reached through ${path})`;
  return new DestinationError(
    target,
    'not-file',
    `${when} a ${kindOf(info)}${through}: atomic mode only replaces a regular file`,
  );
}

/** `lstat`, or `null` when nothing is there. */
async function entryAt(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Where the file behind a dangling link chain would be created: follow each link by hand
 * (realpath gives up on the missing end) up to the kernel's limit.
 */
async function danglingEnd(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const info = await entryAt(current);
    if (info === null || !info.isSymbolicLink()) return current;
    // Relative to the directory the link is in, as the kernel reads it (not lexically: that
    // directory may itself be reached through a link, and the target may start with `..`).
    current = resolve(await realpath(dirname(current)), await readlink(current));
  }
  // Past the limit the kernel refuses the lookup too: its ELOOP, shaped as Node's fs errors.
  await stat(path);
  return current;
}

/**
 * The path an atomic write of `path` renames over, as `fs.writeFile(path)` would write it: a
 * symbolic link is followed to its final target (the link stays, its target is replaced); a
 * dangling one to the missing end, which is created, as `open(O_CREAT)` through the link creates
 * it; a missing `path` is itself.
 * @throws {DestinationError} `ERR_SLABIO_DESTINATION` (`reason: 'not-file'`) when the final
 * target exists and is not a regular file (directory, device, FIFO, socket).
 * @throws {Error} the kernel's error from `realpath`/`lstat` (`EACCES`, `ELOOP`, `ENOTDIR`, …).
 */
export async function replaceTarget(path: string): Promise<string> {
  let target: string;
  try {
    target = await realpath(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    // Missing, or a link whose end is missing. A missing directory on the way surfaces when the
    // temp file is created there, as the kernel's ENOENT.
    return danglingEnd(path);
  }
  const info = await lstat(target);
  if (!info.isFile()) throw notFile(target, path, info, 'is');
  return target;
}

/**
 * Judge `target` again right before the rename: something else may have been put there during
 * the write (a link, a FIFO, a directory). A missing or regular file is fine.
 * @throws {DestinationError} `ERR_SLABIO_DESTINATION` (`reason: 'not-file'`) otherwise.
 */
export async function checkStillReplaceable(target: string, path: string): Promise<void> {
  const info = await entryAt(target);
  if (info !== null && !info.isFile()) throw notFile(target, path, info, 'became');
}
