/**
 * The records at the end of a zip (APPNOTE 4.3.14–4.3.16), read and held to the layout every
 * honest writer produces. Internal.
 *
 * @module
 */
import { BadInputError, UnsafeArchiveError } from '../../errors.js';
import type { ReadAt } from './byte-window.js';

/** What the end records say, after checking that they agree with each other and the file. */
export interface EndRecords {
  /** Entries in the central directory. */
  readonly entries: number;
  readonly cdOffset: number;
  readonly cdSize: number;
  /** Where the central directory ends: the zip64 end record, or else the end record. */
  readonly cdEnd: number;
  /** Length of the archive comment, which runs to the end of the file. */
  readonly commentLength: number;
  readonly zip64: boolean;
}

const EOCD_SIGNATURE = 0x06054b50;
const LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_SIGNATURE = 0x06064b50;
const EOCD_BYTES = 22;
const LOCATOR_BYTES = 20;
const ZIP64_BYTES = 56;
// The zip64 record's size field counts the bytes after its first 12 (APPNOTE 4.3.14.1).
const ZIP64_FIXED_SIZE = 44;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

function refuse(why: string): never {
  throw new UnsafeArchiveError(`zip archive is unsafe: ${why}`);
}

function u64(b: Buffer, at: number): number {
  return Number(b.readBigUInt64LE(at));
}

async function readExactly(read: ReadAt, length: number, position: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(length);
  const got = await read(b, length, position);
  if (got < length) throw new BadInputError('zip archive is truncated');
  return b;
}

/**
 * Find the end of central directory record the way yauzl does (the first signature found
 * searching back from the end, within the 64 KiB a comment can span), so both read the same one.
 * The common case, a record without comment in the last 22 bytes, takes one 42-byte read.
 */
async function findEnd(read: ReadAt, size: number): Promise<{ tail: Buffer; at: number }> {
  const searchBytes = Math.min(LOCATOR_BYTES + EOCD_BYTES + MAX16, size);
  const quick = Math.min(LOCATOR_BYTES + EOCD_BYTES, size);
  let tail = await readExactly(read, quick, size - quick);
  let at = tail.length - EOCD_BYTES;
  if (at < 0 || tail.readUInt32LE(at) !== EOCD_SIGNATURE) {
    tail = await readExactly(read, searchBytes, size - searchBytes);
    for (at = tail.length - EOCD_BYTES - 1; at >= 0; at--) {
      if (tail.readUInt32LE(at) === EOCD_SIGNATURE) break;
    }
    if (at < 0) {
      throw new BadInputError('not a zip archive: no end of central directory record');
    }
  }
  const commentLength = tail.readUInt16LE(at + 20);
  const after = tail.length - at - EOCD_BYTES;
  if (commentLength > after) {
    throw new BadInputError('zip archive is truncated: its comment runs past the end of the file');
  }
  if (commentLength < after) {
    refuse(
      `${after - commentLength} bytes follow the end of central directory record (appended data, or a second end record hidden in the comment)`,
    );
  }
  return { tail, at };
}

/** The zip64 end record and its locator, checked against the plain end record they extend. */
async function readZip64(
  read: ReadAt,
  locator: Buffer,
  locatorOffset: number,
  eocd: Buffer,
): Promise<Omit<EndRecords, 'commentLength'>> {
  const recordOffset = u64(locator, 8);
  if (locator.readUInt32LE(4) !== 0 || locator.readUInt32LE(16) > 1) {
    refuse('the zip64 locator describes a multi-disk archive');
  }
  if (recordOffset + ZIP64_BYTES > locatorOffset) {
    refuse('the zip64 locator points past itself');
  }
  const r = await readExactly(read, ZIP64_BYTES, recordOffset);
  if (r.readUInt32LE(0) !== ZIP64_SIGNATURE) refuse('no zip64 end record where the locator points');
  // The record (with its extensible data, if any) must end where the locator starts.
  const recordSize = u64(r, 4);
  if (recordSize < ZIP64_FIXED_SIZE || recordOffset + 12 + recordSize !== locatorOffset) {
    refuse('the zip64 end record does not end at its locator');
  }
  if (r.readUInt32LE(16) !== 0 || r.readUInt32LE(20) !== 0) {
    refuse('the zip64 end record describes a multi-disk archive');
  }
  const entries = u64(r, 32);
  const cdSize = u64(r, 40);
  const cdOffset = u64(r, 48);
  if (u64(r, 24) !== entries) {
    refuse(`the zip64 end record counts ${u64(r, 24)} entries on this disk but ${entries} in all`);
  }
  // The plain record's fields are either the "see zip64" marker or the same value (APPNOTE 4.4.1.4).
  const agree = (field: number, marker: number, value: number): boolean =>
    field === marker || field === value;
  if (
    !agree(eocd.readUInt16LE(4), MAX16, 0) ||
    !agree(eocd.readUInt16LE(6), MAX16, 0) ||
    !agree(eocd.readUInt16LE(8), MAX16, entries) ||
    !agree(eocd.readUInt16LE(10), MAX16, entries) ||
    !agree(eocd.readUInt32LE(12), MAX32, cdSize) ||
    !agree(eocd.readUInt32LE(16), MAX32, cdOffset)
  ) {
    refuse('the end of central directory record disagrees with the zip64 end record');
  }
  return { entries, cdOffset, cdSize, cdEnd: recordOffset, zip64: true };
}

/**
 * Read and check the end records of an archive of `size` bytes: single disk, the entry counts
 * "on this disk" and "in all" equal, a zip64 record (where a locator says there is one) that ends
 * at its locator and agrees with the plain record, no bytes after the comment, and a central
 * directory that ends exactly where the end records begin. Whether its records really fill it is
 * checked while they are read (see `readCatalog`).
 *
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` for records that disagree.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` when there is no end record or the file is cut.
 */
export async function readEndRecords(read: ReadAt, size: number): Promise<EndRecords> {
  const { tail, at } = await findEnd(read, size);
  const eocdOffset = size - tail.length + at;
  const eocd = tail.subarray(at, at + EOCD_BYTES);
  const commentLength = eocd.readUInt16LE(20);
  let end: Omit<EndRecords, 'commentLength'>;
  // A locator right before the record, found as yauzl finds it (inside the same search window).
  if (at >= LOCATOR_BYTES && tail.readUInt32LE(at - LOCATOR_BYTES) === LOCATOR_SIGNATURE) {
    const locator = tail.subarray(at - LOCATOR_BYTES, at);
    end = await readZip64(read, locator, eocdOffset - LOCATOR_BYTES, eocd);
  } else {
    if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) {
      refuse('the end of central directory record describes a multi-disk archive');
    }
    const entries = eocd.readUInt16LE(10);
    if (eocd.readUInt16LE(8) !== entries) {
      refuse(
        `the end of central directory record counts ${eocd.readUInt16LE(8)} entries on this disk but ${entries} in all`,
      );
    }
    end = {
      entries,
      cdSize: eocd.readUInt32LE(12),
      cdOffset: eocd.readUInt32LE(16),
      cdEnd: eocdOffset,
      zip64: false,
    };
  }
  if (end.cdOffset + end.cdSize !== end.cdEnd) {
    refuse(
      `the central directory (offset ${end.cdOffset}, ${end.cdSize} bytes) does not end where the end records begin (${end.cdEnd})`,
    );
  }
  return { ...end, commentLength };
}
