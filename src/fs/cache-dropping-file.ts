/**
 * A file being read whose page cache is dropped behind the reader: the per-read hook that turns
 * readAll's file engine into `readFileNoCache`.
 *
 * @module
 */
import { UnsupportedError } from '../errors.js';
import type { LinuxBinding } from '../native/binding.js';
import { refusedDontcache } from '../native/system-error.js';
import type { OpenedFile } from '../source/index.js';

/** How reads keep the cache out: asked for (`'auto'`) or in use. */
export type ReadStrategy = 'auto' | 'dontcache' | 'fadvise' | 'none';

/**
 * Wraps an {@link OpenedFile} so that every read either passes `RWF_DONTCACHE` (`preadv2`) or is
 * followed, once `chunkBytes` more have been read, by `POSIX_FADV_DONTNEED` on what was copied out.
 * Each read asks for at most `chunkBytes`, so the cache behind the reader stays within one chunk
 * plus readahead whatever the size of the block being filled.
 *
 * `'auto'` decides on the file's own descriptor, never on a probe file next to it (which fails on
 * read-only mounts and in /proc): the first read tries `RWF_DONTCACHE`, and when the filesystem
 * refuses it (`ENOTSUP`, or `EINVAL` from kernels that reject the flag) the rest of the file is
 * read with `'fadvise'`. Files without positions (pipes, character devices) have no page cache to
 * drop and are read plainly.
 */
export class CacheDroppingFile implements OpenedFile {
  readonly #file: OpenedFile;
  readonly #b: LinuxBinding;
  readonly #chunk: number;
  #mode: ReadStrategy;
  #dropped = 0;
  #end = 0;

  constructor(file: OpenedFile, strategy: ReadStrategy, binding: LinuxBinding, chunkBytes: number) {
    this.#file = file;
    this.#b = binding;
    this.#chunk = chunkBytes;
    this.#mode = file.position === null && strategy === 'auto' ? 'none' : strategy;
  }

  get fd(): number {
    return this.#file.fd;
  }

  get position(): number | null {
    return this.#file.position;
  }

  get size(): number | undefined {
    return this.#file.size;
  }

  get readable(): (() => Promise<void>) | undefined {
    return this.#file.readable;
  }

  /** The strategy in use; `'auto'` until the first read has decided. */
  get strategy(): ReadStrategy {
    return this.#mode;
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /**
   * Before the first read: tell readahead the file is read once, front to back.
   * @throws {UnsupportedError} for a forced strategy on a file without positions.
   */
  async start(): Promise<void> {
    if (this.#file.position === null && this.#mode !== 'none') {
      throw new UnsupportedError(
        `strategy '${this.#mode}' needs a regular file; pipes and devices have no page cache to drop`,
      );
    }
    if (this.#mode === 'fadvise') await this.#fadvise(0, 0, 'POSIX_FADV_SEQUENTIAL');
  }

  async read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<number> {
    const want = Math.min(length, this.#chunk);
    if (this.#mode === 'none' || position === null) {
      return this.#file.read(buffer, offset, want, position);
    }
    if (this.#mode === 'auto' || this.#mode === 'dontcache') {
      const view = buffer.subarray(offset, offset + want);
      try {
        const n = await this.#b.preadv2(this.fd, [view], position, this.#b.constants.RWF_DONTCACHE);
        if (this.#mode === 'auto') this.#mode = 'dontcache';
        return n;
      } catch (err) {
        const refused = refusedDontcache(err);
        if (this.#mode === 'dontcache' && refused) {
          throw new UnsupportedError('RWF_DONTCACHE was refused for this file', { cause: err });
        }
        if (!refused) throw err;
        this.#mode = 'fadvise';
        await this.#fadvise(0, 0, 'POSIX_FADV_SEQUENTIAL');
      }
    }
    const n = await this.#file.read(buffer, offset, want, position);
    this.#end = position + n;
    // Clean pages can go as soon as they are copied out; readahead's window ahead is left alone.
    if (this.#end - this.#dropped >= this.#chunk) {
      await this.#fadvise(this.#dropped, this.#end - this.#dropped, 'POSIX_FADV_DONTNEED');
      this.#dropped = this.#end;
    }
    return n;
  }

  /** After the last read: readahead may have pulled pages past what was dropped; drop them all. */
  async finish(): Promise<void> {
    if (this.#mode === 'dontcache' || this.#mode === 'fadvise') {
      await this.#fadvise(0, 0, 'POSIX_FADV_DONTNEED');
    }
  }

  async #fadvise(
    offset: number,
    length: number,
    advice: 'POSIX_FADV_SEQUENTIAL' | 'POSIX_FADV_DONTNEED',
  ): Promise<void> {
    await this.#b.fadvise(this.fd, offset, length, this.#b.constants[advice]);
  }
}
