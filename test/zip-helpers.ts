/**
 * Zip archives made by hand (to say exactly what a malicious archive says) and with yazl. The
 * record writers follow APPNOTE 4.3; every field a real tool would compute can be overridden, so
 * a test can make the local header, the central directory and the end records disagree.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import yazl from 'yazl';
import { sha256 } from './helpers.js';

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;

/** The fields of a local file header (APPNOTE 4.3.7). */
export interface LocalFields {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  name: Buffer;
  extra: Buffer;
}

/** A local file header. */
export function localHeader(f: LocalFields): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(f.flags, 6);
  b.writeUInt16LE(f.method, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(0x21, 12);
  b.writeUInt32LE(f.crc >>> 0, 14);
  b.writeUInt32LE(f.compressedSize, 18);
  b.writeUInt32LE(f.size, 22);
  b.writeUInt16LE(f.name.length, 26);
  b.writeUInt16LE(f.extra.length, 28);
  return Buffer.concat([b, f.name, f.extra]);
}

/**
 * `data` deflated behind a local header named `name` (UTF-8 flag, no descriptor), with the
 * fields a central directory record would repeat.
 */
export function deflatedEntry(
  name: string,
  data: Buffer,
  extra: Buffer = Buffer.alloc(0),
): { header: Buffer; payload: Buffer; crc: number; compressedSize: number; size: number } {
  const payload = zlib.deflateRawSync(data);
  const fields = { crc: zlib.crc32(data), compressedSize: payload.length, size: data.length };
  const header = localHeader({
    ...fields,
    flags: 0x800,
    method: 8,
    name: Buffer.from(name),
    extra,
  });
  return { header, payload, ...fields };
}

/** The fields of a central directory record (APPNOTE 4.3.12). */
export interface CentralFields extends LocalFields {
  /** Unix mode, stored in the upper 16 bits of the external attributes. */
  mode: number;
  offset: number;
  comment?: Buffer;
}

/** A central directory record. */
export function centralRecord(f: CentralFields): Buffer {
  const comment = f.comment ?? Buffer.alloc(0);
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | 20, 4);
  b.writeUInt16LE(20, 6);
  b.writeUInt16LE(f.flags, 8);
  b.writeUInt16LE(f.method, 10);
  b.writeUInt16LE(0, 12);
  b.writeUInt16LE(0x21, 14);
  b.writeUInt32LE(f.crc >>> 0, 16);
  b.writeUInt32LE(f.compressedSize, 20);
  b.writeUInt32LE(f.size, 24);
  b.writeUInt16LE(f.name.length, 28);
  b.writeUInt16LE(f.extra.length, 30);
  b.writeUInt16LE(comment.length, 32);
  b.writeUInt32LE((f.mode << 16) >>> 0, 38);
  b.writeUInt32LE(f.offset, 42);
  return Buffer.concat([b, f.name, f.extra, comment]);
}

/** An extra field block: 2 bytes id, 2 bytes length, the data. */
export function extraField(id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(data.length, 2);
  return Buffer.concat([head, data]);
}

/** A zip64 extended information extra field (id 1) holding these 64-bit values in order. */
export function zip64Extra(values: number[]): Buffer {
  const data = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => {
    data.writeBigUInt64LE(BigInt(v), 8 * i);
  });
  return extraField(0x0001, data);
}

/** How the data descriptor after an entry's data is written (APPNOTE 4.3.9). */
export type DescriptorKind = 'signed' | 'unsigned' | 'signed64' | 'unsigned64';

/** A data descriptor: optional signature, CRC-32, compressed and uncompressed size (4 or 8 bytes). */
export function dataDescriptor(
  kind: DescriptorKind,
  crc: number,
  compressedSize: number,
  size: number,
): Buffer {
  const wide = kind.endsWith('64');
  const signed = kind.startsWith('signed');
  const b = Buffer.alloc((signed ? 4 : 0) + 4 + (wide ? 16 : 8));
  let at = 0;
  if (signed) at = b.writeUInt32LE(0x08074b50, 0);
  at = b.writeUInt32LE(crc >>> 0, at);
  if (wide) {
    at = b.writeBigUInt64LE(BigInt(compressedSize), at);
    b.writeBigUInt64LE(BigInt(size), at);
  } else {
    at = b.writeUInt32LE(compressedSize, at);
    b.writeUInt32LE(size, at);
  }
  return b;
}

/** One entry of a hand-made archive. Everything a real tool would compute can be overridden. */
export interface HandEntry {
  name: string;
  data?: Buffer;
  /** 0 stored, 8 deflate. @default 8 */
  method?: number;
  /** Unix mode in the upper 16 bits of the external attributes. @default 0o100644 (0o40755 for names ending in /) */
  mode?: number;
  /** The bytes stored as the entry's data instead of compressing `data`. */
  payload?: Buffer;
  /** Declared uncompressed size instead of `data.length`. */
  size?: number;
  /** Declared CRC-32 instead of the real one. */
  crc?: number;
  /** Declared compressed size (local and central) instead of the payload's length. */
  compressedSize?: number;
  /** General purpose flags. @default 0x800 (UTF-8 name), plus 0x8 with a `descriptor` */
  flags?: number;
  /** Point the central directory at the local header of this earlier entry instead of writing one. */
  shareWith?: number;
  /** Point the central directory at this absolute offset instead of writing a local header. */
  at?: number;
  /**
   * Write a data descriptor after the data (these bytes, or one of this kind with the real
   * values); the local header then says 0 for CRC and sizes.
   */
  descriptor?: DescriptorKind | Buffer;
  /** Local header fields that differ from the central directory record's. */
  local?: Partial<Omit<LocalFields, 'name'>> & { name?: string };
  /** The central record's extra field. */
  centralExtra?: Buffer;
  /** Sizes and offset as 0xFFFFFFFF plus a zip64 extra field (central: all three; local: sizes). */
  zip64?: boolean;
  /** Add this to the local header offset the central directory records. */
  offsetShift?: number;
  /** Bytes written after the entry (after its descriptor), covered by nothing. */
  after?: Buffer;
}

/** Fields of the end of central directory record (APPNOTE 4.3.16). */
export interface EndFields {
  disk: number;
  cdDisk: number;
  entriesOnDisk: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
  commentLength: number;
}

/** Fields of the zip64 end of central directory record and locator (APPNOTE 4.3.14, 4.3.15). */
export interface Zip64EndFields {
  /** The record's "size of the remaining record" field. @default 44 */
  recordSize: number;
  disk: number;
  cdDisk: number;
  entriesOnDisk: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
  /** Locator: the disk holding the zip64 record. */
  locatorDisk: number;
  /** Locator: where the zip64 record is. */
  recordOffset: number;
  /** Locator: total number of disks. @default 1 */
  disks: number;
}

/** What comes around the entries. */
export interface ZipLayout {
  /** Bytes before the first local header (offsets count them, as `zip -A` does). */
  prepend?: Buffer;
  /** Bytes between the central directory and the end records. */
  beforeEnd?: Buffer;
  /** Write zip64 end records (EOCD fields then say 0xFFFF / 0xFFFFFFFF), with overrides. */
  zip64?: true | Partial<Zip64EndFields>;
  /** Overrides of the end of central directory record. */
  eocd?: Partial<EndFields>;
  comment?: Buffer;
}

function zip64EndRecords(at: number, f: Zip64EndFields): Buffer {
  const r = Buffer.alloc(56);
  r.writeUInt32LE(0x06064b50, 0);
  r.writeBigUInt64LE(BigInt(f.recordSize), 4);
  r.writeUInt16LE((3 << 8) | 45, 12);
  r.writeUInt16LE(45, 14);
  r.writeUInt32LE(f.disk, 16);
  r.writeUInt32LE(f.cdDisk, 20);
  r.writeBigUInt64LE(BigInt(f.entriesOnDisk), 24);
  r.writeBigUInt64LE(BigInt(f.entries), 32);
  r.writeBigUInt64LE(BigInt(f.cdSize), 40);
  r.writeBigUInt64LE(BigInt(f.cdOffset), 48);
  const l = Buffer.alloc(20);
  l.writeUInt32LE(0x07064b50, 0);
  l.writeUInt32LE(f.locatorDisk, 4);
  l.writeBigUInt64LE(BigInt(f.recordOffset === -1 ? at : f.recordOffset), 8);
  l.writeUInt32LE(f.disks, 16);
  return Buffer.concat([r, l]);
}

/** The end of central directory record. */
export function endRecord(f: EndFields, comment: Buffer): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(f.disk, 4);
  b.writeUInt16LE(f.cdDisk, 6);
  b.writeUInt16LE(f.entriesOnDisk, 8);
  b.writeUInt16LE(f.entries, 10);
  b.writeUInt32LE(f.cdSize, 12);
  b.writeUInt32LE(f.cdOffset, 16);
  b.writeUInt16LE(f.commentLength, 20);
  return Buffer.concat([b, comment]);
}

/** Build a zip (APPNOTE 4.3) from `entries`, laid out as `layout` says. */
export function buildZip(entries: HandEntry[], layout: ZipLayout = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  if (layout.prepend) push(layout.prepend);
  const offsets: number[] = [];
  const centrals: Buffer[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? 8;
    const payload = e.payload ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const crc = e.crc ?? zlib.crc32(data);
    const size = e.size ?? data.length;
    const compressedSize = e.compressedSize ?? payload.length;
    const flags = e.flags ?? (e.descriptor ? 0x808 : 0x800);
    const mode = e.mode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644);
    let at = offset;
    if (e.shareWith !== undefined) {
      at = offsets[e.shareWith] as number;
    } else if (e.at !== undefined) {
      at = e.at;
    } else {
      const dd = e.descriptor !== undefined;
      const big = e.zip64 === true;
      const { name: localName, ...local } = e.local ?? {};
      push(
        localHeader({
          flags,
          method,
          crc: dd ? 0 : crc,
          compressedSize: dd ? 0 : big ? MAX32 : compressedSize,
          size: dd ? 0 : big ? MAX32 : size,
          name: localName === undefined ? name : Buffer.from(localName, 'utf8'),
          extra: big ? zip64Extra(dd ? [0, 0] : [size, compressedSize]) : Buffer.alloc(0),
          ...local,
        }),
      );
      push(payload);
      if (Buffer.isBuffer(e.descriptor)) push(e.descriptor);
      else if (e.descriptor) push(dataDescriptor(e.descriptor, crc, compressedSize, size));
      if (e.after) push(e.after);
    }
    offsets.push(at);
    const recorded = at + (e.offsetShift ?? 0);
    const big = e.zip64 === true;
    centrals.push(
      centralRecord({
        flags,
        method,
        crc,
        compressedSize: big ? MAX32 : compressedSize,
        size: big ? MAX32 : size,
        name,
        extra: Buffer.concat([
          big ? zip64Extra([size, compressedSize, recorded]) : Buffer.alloc(0),
          e.centralExtra ?? Buffer.alloc(0),
        ]),
        mode,
        offset: big ? MAX32 : recorded,
      }),
    );
  }
  const cdOffset = offset;
  const cd = Buffer.concat(centrals);
  push(cd);
  if (layout.beforeEnd) push(layout.beforeEnd);
  const comment = layout.comment ?? Buffer.alloc(0);
  const z64 = layout.zip64;
  if (z64) {
    const real = {
      recordSize: 44,
      disk: 0,
      cdDisk: 0,
      entriesOnDisk: entries.length,
      entries: entries.length,
      cdSize: cd.length,
      cdOffset,
      locatorDisk: 0,
      recordOffset: -1,
      disks: 1,
    };
    push(zip64EndRecords(offset, { ...real, ...(z64 === true ? {} : z64) }));
  }
  const end: EndFields = {
    disk: 0,
    cdDisk: 0,
    entriesOnDisk: z64 ? MAX16 : entries.length,
    entries: z64 ? MAX16 : entries.length,
    cdSize: z64 ? MAX32 : cd.length,
    cdOffset: z64 ? MAX32 : cdOffset,
    commentLength: comment.length,
    ...layout.eocd,
  };
  push(endRecord(end, comment));
  return Buffer.concat(parts);
}

/** Options of {@link yazlZip}. */
export interface YazlOptions {
  /** Add files as streams (general purpose bit 3: sizes in a data descriptor). */
  streamed?: boolean;
  /** Force zip64 records for every entry and the end of the archive. */
  zip64?: boolean;
}

/** A zip written by yazl, the way a real tool writes it (data descriptors, deflate, dirs). */
export async function yazlZip(
  files: Record<string, Buffer | null>,
  options: YazlOptions = {},
): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const forceZip64Format = options.zip64 === true;
  for (const [name, data] of Object.entries(files)) {
    if (data === null) zip.addEmptyDirectory(name);
    else if (options.streamed) {
      zip.addReadStream(Readable.from([data]), name, {
        compress: data.length % 2 === 0,
        forceZip64Format,
      });
    } else zip.addBuffer(data, name, { compress: data.length % 2 === 0, forceZip64Format });
  }
  zip.end({ forceZip64Format, comment: '' });
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir` as relative path → sha256, directories as relative path → 'dir'. */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    out[rel] = entry.isDirectory() ? 'dir' : sha256(await readFile(full));
  }
  return out;
}
