/** Zip archives made by hand (to say exactly what a malicious archive says) and with yazl. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import yazl from 'yazl';

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
  /** General purpose flags. @default 0x800 (UTF-8 name) */
  flags?: number;
  /** Point the central directory at the local header of this earlier entry instead of writing one. */
  shareWith?: number;
}

/** Build a zip (APPNOTE 4.3) from `entries`. */
export function buildZip(entries: HandEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? 8;
    const payload = e.payload ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const crc = e.crc ?? zlib.crc32(data);
    const size = e.size ?? data.length;
    const flags = e.flags ?? 0x800;
    const mode = e.mode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644);
    let at = offset;
    if (e.shareWith !== undefined) {
      at = offsets[e.shareWith] as number;
    } else {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(flags, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(0x21, 12);
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(payload.length, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      locals.push(local, name, payload);
      offset += 30 + name.length + payload.length;
    }
    offsets[i] = at;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(payload.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(at, 42);
    centrals.push(central, name);
  });
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A zip written by yazl, the way a real tool writes it (data descriptors, deflate, dirs). */
export async function yazlZip(files: Record<string, Buffer | null>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) {
    if (data === null) zip.addEmptyDirectory(name);
    else zip.addBuffer(data, name, { compress: data.length % 2 === 0 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
