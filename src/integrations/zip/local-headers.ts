/**
 * Reading every local file header before extraction and holding the archive to one layout: the
 * entries one after another from offset 0, each one's header, data and data descriptor, then the
 * central directory. Internal.
 *
 * @module
 */
import yauzl from 'yauzl';
import { UnsafeArchiveError } from '../../errors.js';
import type { ByteWindow } from './byte-window.js';

/** What this check needs of an entry that passed the central directory checks. */
export interface LaidOutEntry {
  readonly entry: yauzl.Entry;
  readonly rawName: string;
  readonly index: number;
}

const LOCAL_SIGNATURE = 0x04034b50;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const LOCAL_HEADER_BYTES = 30;
const MAX32 = 0xffffffff;
const ZIP64_EXTRA = 0x0001;
const UNICODE_PATH_EXTRA = 0x7075;
// Flags that change how an entry is read: encrypted (0), sizes in a data descriptor (3), strong
// encryption (6), masked local header (13). A mismatch in the UTF-8 flag (11) shows up as a name
// mismatch when it matters.
const READING_FLAGS = 0x0001 | 0x0008 | 0x0040 | 0x2000;
const DATA_DESCRIPTOR_FLAG = 0x0008;

function refuse(plan: LaidOutEntry, why: string): never {
  throw new UnsafeArchiveError(`entry ${JSON.stringify(plan.rawName)}: ${why}`, plan.rawName);
}

function after(plan: LaidOutEntry | null): string {
  return plan === null
    ? 'before it at the start of the archive (prepended data, such as a self-extractor stub)'
    : `between entry ${JSON.stringify(plan.rawName)} and it`;
}

/**
 * Refuse a second zip64 or Unicode path field in one header: readers disagree on which one wins
 * (yauzl takes the first), so two of them let one archive mean two things.
 */
export function checkExtraFields(
  plan: LaidOutEntry,
  fields: readonly yauzl.ExtraField[],
  where: string,
): void {
  let zip64 = 0;
  let unicode = 0;
  for (const f of fields) {
    if (f.id === ZIP64_EXTRA) zip64++;
    else if (f.id === UNICODE_PATH_EXTRA) unicode++;
  }
  if (zip64 > 1 || unicode > 1) refuse(plan, `its ${where} has duplicate extra fields`);
}

interface LocalSizes {
  crc: number;
  compressedSize: number;
  size: number;
}

/**
 * The sizes of a local header, with the zip64 field where a 32-bit size is 0xFFFFFFFF. In a local
 * header that field holds both sizes (APPNOTE 4.5.3); a shorter one is read as in the central
 * directory, only the sizes that are 0xFFFFFFFF, in order.
 */
function localSizes(plan: LaidOutEntry, header: Buffer, fields: yauzl.ExtraField[]): LocalSizes {
  let size = header.readUInt32LE(22);
  let compressedSize = header.readUInt32LE(18);
  const z64 = fields.find((f) => f.id === ZIP64_EXTRA)?.data;
  if (z64 !== undefined && (size === MAX32 || compressedSize === MAX32)) {
    const read = (at: number): number => {
      if (at + 8 > z64.length) refuse(plan, 'its local zip64 field is too short');
      return Number(z64.readBigUInt64LE(at));
    };
    if (z64.length >= 16) {
      if (size === MAX32) size = read(0);
      if (compressedSize === MAX32) compressedSize = read(8);
    } else if (size === MAX32) size = read(0);
    else compressedSize = read(0);
  }
  return { crc: header.readUInt32LE(14), compressedSize, size };
}

/** Hold the local header to the central directory record; returns the data's offset. */
async function checkLocalHeader(
  window: ByteWindow,
  plan: LaidOutEntry,
  cdOffset: number,
): Promise<number> {
  const { entry } = plan;
  const at = entry.relativeOffsetOfLocalHeader;
  if (at + LOCAL_HEADER_BYTES > cdOffset)
    refuse(plan, 'its local header overlaps the central directory');
  const fixed = await window.bytes(at, LOCAL_HEADER_BYTES);
  if (fixed.readUInt32LE(0) !== LOCAL_SIGNATURE)
    refuse(plan, `no local file header at offset ${at}`);
  const flags = fixed.readUInt16LE(6);
  const method = fixed.readUInt16LE(8);
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const header = Buffer.from(fixed);
  const dataStart = at + LOCAL_HEADER_BYTES + nameLength + extraLength;
  if (dataStart > cdOffset) refuse(plan, 'its local header overlaps the central directory');
  const rest = await window.bytes(at + LOCAL_HEADER_BYTES, nameLength + extraLength);
  let fields: yauzl.ExtraField[];
  try {
    fields = yauzl.parseExtraFields(rest.subarray(nameLength));
  } catch {
    refuse(plan, 'its local extra field is malformed');
  }
  checkExtraFields(plan, fields, 'local header');
  const localName = yauzl.getFileNameLowLevel(flags, rest.subarray(0, nameLength), fields, true);
  if (localName !== plan.rawName) {
    refuse(plan, `its local header names it ${JSON.stringify(localName)}`);
  }
  if (method !== entry.compressionMethod) {
    refuse(
      plan,
      `its local header says method ${method}, the central directory ${entry.compressionMethod}`,
    );
  }
  if (((flags ^ entry.generalPurposeBitFlag) & READING_FLAGS) !== 0) {
    refuse(
      plan,
      `its local header has flags 0x${flags.toString(16)}, the central directory 0x${entry.generalPurposeBitFlag.toString(16)}`,
    );
  }
  // Stored data are copied as they are: their length is the size (encrypted ones carry a 12-byte
  // header, but those are refused before this).
  if (method === 0 && (flags & 1) === 0 && entry.compressedSize !== entry.uncompressedSize) {
    refuse(
      plan,
      `it is stored, but its compressed size ${entry.compressedSize} is not its size ${entry.uncompressedSize}`,
    );
  }
  const local = localSizes(plan, header, fields);
  // With a data descriptor the local header may leave the values 0 (writers that stream do);
  // a value it does state must still be the central directory's.
  const described = (flags & DATA_DESCRIPTOR_FLAG) !== 0;
  const pairs: [string, number, number][] = [
    ['CRC-32', local.crc, entry.crc32],
    ['compressed size', local.compressedSize, entry.compressedSize],
    ['size', local.size, entry.uncompressedSize],
  ];
  for (const [what, mine, central] of pairs) {
    if (mine !== central && !(described && mine === 0)) {
      refuse(plan, `its local header says ${what} ${mine}, the central directory ${central}`);
    }
  }
  return dataStart;
}

/**
 * The data descriptor between an entry's data and `next` (the next local header or the central
 * directory). Its length is what lies between, so each of its four forms (APPNOTE 4.3.9: with or
 * without signature, 4- or 8-byte sizes) is told apart without guessing; it must repeat the
 * central directory's CRC-32 and sizes.
 */
async function checkDescriptor(
  window: ByteWindow,
  plan: LaidOutEntry,
  dataEnd: number,
  next: number,
): Promise<void> {
  const room = next - dataEnd;
  if (room !== 12 && room !== 16 && room !== 20 && room !== 24) {
    refuse(plan, `the ${room} bytes after its data are not a data descriptor`);
  }
  const d = await window.bytes(dataEnd, room);
  const signed = room === 16 || room === 24;
  if (signed && d.readUInt32LE(0) !== DESCRIPTOR_SIGNATURE) {
    refuse(plan, 'the bytes after its data are not a data descriptor');
  }
  let at = signed ? 4 : 0;
  const crc = d.readUInt32LE(at);
  at += 4;
  const wide = room >= 20;
  const compressedSize = wide ? Number(d.readBigUInt64LE(at)) : d.readUInt32LE(at);
  const size = wide ? Number(d.readBigUInt64LE(at + 8)) : d.readUInt32LE(at + 4);
  const { entry } = plan;
  if (
    crc !== entry.crc32 ||
    compressedSize !== entry.compressedSize ||
    size !== entry.uncompressedSize
  ) {
    refuse(
      plan,
      `its data descriptor says CRC-32 ${crc}, ${compressedSize} → ${size} bytes; the central directory ${entry.crc32}, ${entry.compressedSize} → ${entry.uncompressedSize}`,
    );
  }
}

/**
 * Read every entry's local header and data descriptor and check the layout an honest writer
 * produces: in offset order, each entry starts exactly where the previous one ended (the first at
 * offset 0) and the last ends exactly where the central directory starts. An entry spans its
 * local header (30 bytes, then the local name and extra field, whose lengths are the local
 * header's own), its data (the central directory's compressed size, which is what is read) and
 * its data descriptor. So no byte belongs to two entries (every overlapping zip bomb, whether it
 * shares the data or quotes headers in data or extra fields, is refused), no entry reaches into
 * the central directory, and no byte belongs to none: nothing is prepended, hidden in a gap or
 * visible only to a reader that walks local headers from the start.
 *
 * Reads go in offset order through one window, so small entries cost a few reads in all.
 *
 * @returns each entry's data offset, by entry index.
 * @throws {UnsafeArchiveError} `ERR_SLABIO_UNSAFE_ARCHIVE` naming the first entry that breaks it.
 */
export async function checkLocalHeaders(
  window: ByteWindow,
  plans: readonly LaidOutEntry[],
  cdOffset: number,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  const order = [...plans].sort(
    (a, b) =>
      a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader ||
      a.index - b.index,
  );
  const starts: number[] = new Array(plans.length);
  let cursor = 0;
  let prev: LaidOutEntry | null = null;
  for (let i = 0; i < order.length; i++) {
    signal?.throwIfAborted();
    const plan = order[i] as LaidOutEntry;
    const at = plan.entry.relativeOffsetOfLocalHeader;
    if (at < cursor && prev !== null) {
      throw new UnsafeArchiveError(
        `entries ${JSON.stringify(prev.rawName)} and ${JSON.stringify(plan.rawName)} overlap (a non-recursive zip bomb)`,
        plan.rawName,
      );
    }
    if (at >= cdOffset) refuse(plan, 'its local header is not before the central directory');
    if (at > cursor) refuse(plan, `${at - cursor} bytes ${after(prev)} belong to no entry`);
    const dataStart = await checkLocalHeader(window, plan, cdOffset);
    const dataEnd = dataStart + plan.entry.compressedSize;
    if (dataEnd > cdOffset) refuse(plan, 'its data overlap the central directory');
    cursor = dataEnd;
    if ((plan.entry.generalPurposeBitFlag & DATA_DESCRIPTOR_FLAG) !== 0) {
      const next = order[i + 1]?.entry.relativeOffsetOfLocalHeader ?? cdOffset;
      // A next header inside this entry's data is reported as an overlap on the next round.
      if (next >= dataEnd) {
        await checkDescriptor(window, plan, dataEnd, Math.min(next, cdOffset));
        cursor = Math.min(next, cdOffset);
      }
    }
    starts[plan.index] = dataStart;
    prev = plan;
  }
  if (cursor !== cdOffset) {
    const from =
      prev === null ? 'the start of the archive' : `entry ${JSON.stringify(prev.rawName)}`;
    throw new UnsafeArchiveError(
      `zip archive is unsafe: ${cdOffset - cursor} bytes between ${from} and the central directory belong to no entry`,
    );
  }
  return starts;
}
