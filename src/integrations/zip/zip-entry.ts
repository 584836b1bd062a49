/**
 * The entry handed to an `onEntry` callback.
 *
 * @module
 */
import type { Lease } from '../../pool/index.js';

/**
 * One file entry of an archive being extracted with `onEntry`. Its bytes are in the lease passed
 * next to it; the size was checked against what the archive declared and the CRC-32 verified.
 */
export class ZipEntry {
  /** The entry's name, '/'-separated, checked (no `..`, not absolute) and without `./` or `//`. */
  readonly name: string;
  /** The name exactly as the archive spells it. */
  readonly rawName: string;
  /** Position in the archive's central directory, from 0. */
  readonly index: number;
  /** Uncompressed size in bytes (the lease's length). */
  readonly size: number;
  /** Compressed size in bytes. */
  readonly compressedSize: number;
  /** Last modification time as the archive records it (DOS time, local time zone). */
  readonly lastModified: Date;
  #lease: Lease;
  #taken = false;

  /** @internal Created by `extractZip`. */
  constructor(
    fields: {
      name: string;
      rawName: string;
      index: number;
      size: number;
      compressedSize: number;
      lastModified: Date;
    },
    lease: Lease,
  ) {
    this.name = fields.name;
    this.rawName = fields.rawName;
    this.index = fields.index;
    this.size = fields.size;
    this.compressedSize = fields.compressedSize;
    this.lastModified = fields.lastModified;
    this.#lease = lease;
  }

  /**
   * Take ownership of the entry's lease: `extractZip` will not release it when the callback
   * settles, so it can be kept (queued for upload, collected) and released later by the caller.
   *
   * @example
   * ```ts
   * const kept: Lease[] = [];
   * await extractZip('photos.zip', null, { onEntry: (entry) => void kept.push(entry.takeLease()) });
   * ```
   */
  takeLease(): Lease {
    this.#taken = true;
    return this.#lease;
  }

  /** Whether `takeLease()` was called. */
  get taken(): boolean {
    return this.#taken;
  }
}
