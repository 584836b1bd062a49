/**
 * The file a writer writes to: the final path, or a temporary sibling that is renamed over it on
 * success (atomic mode). Either way a failure leaves nothing half-written under the final name.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { debug } from '../debug.js';

/** An open output file and how to finish or undo it. */
export class TargetFile {
  #path: string;
  #writePath: string;
  #atomic: boolean;
  #fh: FileHandle | null;

  private constructor(path: string, writePath: string, atomic: boolean, fh: FileHandle) {
    this.#path = path;
    this.#writePath = writePath;
    this.#atomic = atomic;
    this.#fh = fh;
  }

  /** Open `path` for writing (truncating), or a fresh temp file next to it when `atomic`. */
  static async open(path: string, atomic: boolean, mode: number): Promise<TargetFile> {
    const writePath = atomic
      ? join(
          dirname(path),
          `.${basename(path)}.slabio-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
        )
      : path;
    const fh = await open(writePath, atomic ? 'wx' : 'w', mode);
    return new TargetFile(path, writePath, atomic, fh);
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
    this.#fh = null;
    await fh.close();
    if (!this.#atomic) return;
    await rename(this.#writePath, this.#path);
    // The rename itself lives in the directory: fsync it so the new name survives a crash.
    const dir = await open(dirname(this.#path), 'r');
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
    if (fh !== null) await fh.close().catch(() => {});
    await unlink(this.#writePath).catch((err: unknown) => {
      debug('could not remove %s: %s', this.#writePath, String(err));
    });
  }
}
