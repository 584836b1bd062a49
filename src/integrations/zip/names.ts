/**
 * Entry names: refusing the unsafe ones and the duplicates. Internal.
 *
 * @module
 */
import { UnsafeArchiveError } from '../../errors.js';

const NAME_MAX = 255;
const PATH_MAX = 4095;

/** A checked entry name. */
export interface EntryPath {
  /** The name as '/'-separated segments, without empty and `.` segments. */
  readonly name: string;
  readonly segments: readonly string[];
  /** Whether the name ended with `/` (a directory entry). */
  readonly directory: boolean;
}

/**
 * Check an entry name as the archive spells it. Refused on every platform, because an archive
 * made on one system is extracted on another: absolute paths, drive letters (`C:`), backslashes
 * (a separator on Windows, so `..\\x` would climb there), NUL bytes and any `..` segment (even
 * `a/../b`, which stays inside but is never produced by honest tools), and names no Linux
 * filesystem can hold (a segment over 255 bytes, a name over 4095).
 *
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` naming the entry and the reason.
 */
export function checkEntryName(raw: string, what = 'entry'): EntryPath {
  const refuse = (why: string): never => {
    throw new UnsafeArchiveError(`${what} name ${JSON.stringify(raw)} is unsafe: ${why}`, raw);
  };
  if (raw.includes('\0')) refuse('it contains a NUL byte');
  if (raw.includes('\\')) refuse('it contains a backslash');
  if (raw.startsWith('/')) refuse('it is an absolute path');
  if (/^[A-Za-z]:/.test(raw)) refuse('it starts with a drive letter');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) refuse('it contains a ".." segment (path traversal)');
  if (segments.length === 0) refuse('it is empty');
  // Linux's NAME_MAX and PATH_MAX: past them every filesystem refuses the name (ENAMETOOLONG),
  // so the archive is refused as unsafe up front, before anything is written.
  if (segments.some((seg) => Buffer.byteLength(seg) > NAME_MAX)) {
    refuse(`a path segment is longer than ${NAME_MAX} bytes`);
  }
  if (Buffer.byteLength(segments.join('/')) > PATH_MAX) {
    refuse(`it is longer than ${PATH_MAX} bytes`);
  }
  return { name: segments.join('/'), segments, directory: raw.endsWith('/') };
}

/**
 * Names seen so far in one archive. A second entry with the same name — after dropping empty and
 * `.` segments, and after case folding and Unicode NFC when `foldCase` is on — is refused, and so
 * is a file where another entry needs a directory (`a` and `a/b`): extracting either would
 * silently overwrite or fail halfway.
 */
export class NameRegistry {
  readonly #foldCase: boolean;
  readonly #files = new Set<string>();
  readonly #dirs = new Set<string>();
  readonly #explicitDirs = new Set<string>();

  constructor(foldCase: boolean) {
    this.#foldCase = foldCase;
  }

  #key(name: string): string {
    return this.#foldCase ? name.normalize('NFC').toLowerCase() : name;
  }

  /**
   * Record `path`; `what` names it in the message (`'output'` for an `onEntry` output).
   * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` for a duplicate or clash.
   */
  add(path: EntryPath, raw: string, directory = path.directory, what = 'entry'): void {
    const refuse = (why: string): never => {
      throw new UnsafeArchiveError(`${what} ${JSON.stringify(raw)} ${why}`, raw);
    };
    const parents = directory ? path.segments.length : path.segments.length - 1;
    for (let i = 1; i <= parents; i++) {
      const key = this.#key(path.segments.slice(0, i).join('/'));
      if (this.#files.has(key)) refuse(`needs directory ${JSON.stringify(key)}, which is a file`);
      this.#dirs.add(key);
    }
    const key = this.#key(path.name);
    if (directory) {
      if (this.#explicitDirs.has(key)) refuse('is a duplicate name');
      this.#explicitDirs.add(key);
      return;
    }
    if (this.#files.has(key)) refuse('is a duplicate name');
    if (this.#dirs.has(key)) refuse('is a file where another entry needs a directory');
    this.#files.add(key);
  }
}
