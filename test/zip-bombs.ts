/**
 * David Fifield's overlapping zip bombs ("A better zip bomb", WOOT 2019), built at test time, and
 * a header-quoting archive that shows a forward-scanning reader something else than the central
 * directory. Every archive here is readable by yauzl and each entry inflates to its declared
 * size and CRC-32: they are refused for their layout, not because they are broken.
 */
import zlib from 'node:zlib';
import { KiB, MiB } from './helpers.js';
import { buildZip, deflatedEntry, extraField, localHeader } from './zip-helpers.js';

/** What a bomb declares, to check that it is a real one. */
export interface Bomb {
  zip: Buffer;
  /** Entries in the central directory. */
  entries: number;
  /** Sum of the declared uncompressed sizes. */
  totalBytes: number;
}

/** The shared kernel: `size` zero bytes deflated as one final block, and its CRC-32. */
function kernel(size: number): { data: Buffer; crc: number; size: number } {
  const zeros = Buffer.alloc(size);
  return { data: zlib.deflateRawSync(zeros, { level: 9 }), crc: zlib.crc32(zeros), size };
}

interface Placed {
  name: Buffer;
  offset: number;
  crc: number;
  compressedSize: number;
  size: number;
}

/**
 * The archive: `body` (local headers and data, from offset 0), then a central directory of
 * `placed`, each record pointing at its own offset in `body`.
 */
function finish(body: Buffer, placed: Placed[]): Bomb {
  const entries = placed.map((p) => ({
    name: p.name.toString('latin1'),
    at: p.offset,
    crc: p.crc,
    compressedSize: p.compressedSize,
    size: p.size,
  }));
  return {
    zip: buildZip(entries, { prepend: body }),
    entries: placed.length,
    totalBytes: placed.reduce((n, p) => n + p.size, 0),
  };
}

const nameOf = (i: number): Buffer => Buffer.from(`f${String(i).padStart(2, '0')}`);

/** Full overlap: `n` central directory records all point at one local header and its kernel. */
export function fullOverlap(n: number, kernelBytes = MiB): Bomb {
  const k = kernel(kernelBytes);
  const fields = { crc: k.crc, compressedSize: k.data.length, size: k.size };
  const header = localHeader({
    ...fields,
    flags: 0x800,
    method: 8,
    name: nameOf(0),
    extra: Buffer.alloc(0),
  });
  const placed = Array.from({ length: n }, (_, i) => ({ ...fields, name: nameOf(i), offset: 0 }));
  return finish(Buffer.concat([header, k.data]), placed);
}

/** A non-final stored deflate block that copies `quoted` to the output (RFC 1951 3.2.4). */
function storedBlock(quoted: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16LE(quoted.length, 1);
  head.writeUInt16LE(~quoted.length & 0xffff, 3);
  return head;
}

/**
 * Quoted overlap: each entry's data opens with a stored deflate block that quotes the next
 * entry's local header, then runs on into the next entry's data, down to the shared kernel. Every
 * entry is a valid deflate stream; entry i inflates to the later headers plus the kernel.
 */
export function quotedOverlap(n: number, kernelBytes = MiB - 8 * KiB): Bomb {
  const k = kernel(kernelBytes);
  const zeros = Buffer.alloc(k.size);
  const headers: Buffer[] = new Array(n);
  const placed: Placed[] = new Array(n);
  // From the last entry back: each header needs the CRC and sizes of all that follows it.
  let data = k.data;
  let quoted = Buffer.alloc(0);
  for (let i = n - 1; i >= 0; i--) {
    const crc = zlib.crc32(zeros, zlib.crc32(quoted));
    const size = quoted.length + k.size;
    const name = nameOf(i);
    const header = localHeader({
      flags: 0x800,
      method: 8,
      crc,
      compressedSize: data.length,
      size,
      name,
      extra: Buffer.alloc(0),
    });
    headers[i] = header;
    placed[i] = { name, offset: 0, crc, compressedSize: data.length, size };
    if (i > 0) {
      data = Buffer.concat([storedBlock(header), header, data]);
      quoted = Buffer.concat([header, quoted]);
    }
  }
  let offset = 0;
  for (let i = 0; i < n; i++) {
    (placed[i] as Placed).offset = offset;
    offset += (headers[i] as Buffer).length + 5;
  }
  return finish(Buffer.concat([headers[0] as Buffer, data]), placed);
}

/**
 * Extra-field quoting: the local headers follow one another, each one's extra field holding all
 * the later headers, so every entry's data starts at the one kernel after the last header.
 * With `spacing`, each header also carries that many padding bytes before the next one, which
 * puts the next header further away than the kernel is long: a check that places each entry's
 * data from the central directory (30 + name length + compressed size) then sees no overlap.
 */
export function extraFieldQuoting(n: number, spacing = 0, kernelBytes = MiB): Bomb {
  const k = kernel(kernelBytes);
  const fields = { crc: k.crc, compressedSize: k.data.length, size: k.size };
  const pad = Buffer.alloc(spacing);
  let next: Buffer = Buffer.alloc(0);
  const lengths: number[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const extra = i === n - 1 ? Buffer.alloc(0) : extraField(0x9999, Buffer.concat([pad, next]));
    next = localHeader({ ...fields, flags: 0x800, method: 8, name: nameOf(i), extra });
    lengths[i] = 30 + nameOf(i).length + (i === n - 1 ? 0 : 4 + spacing);
  }
  const placed: Placed[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    placed.push({ ...fields, name: nameOf(i), offset });
    offset += lengths[i] as number;
  }
  return finish(Buffer.concat([next, k.data]), placed);
}

/**
 * Header quoting without shared data: entry 0's local extra field holds entry 1 whole (header and
 * data), so the data ranges are disjoint, but a reader walking local headers from the start sees
 * only entry 0 while the central directory lists both.
 */
export function quotedEntry(): Bomb {
  const inner = deflatedEntry('f01', Buffer.from('hidden from a forward scan\n'));
  const quoted = extraField(0x9999, Buffer.concat([inner.header, inner.payload]));
  const outer = deflatedEntry('f00', Buffer.from('the outer entry\n'), quoted);
  const fieldsOf = ({ crc, compressedSize, size }: typeof inner) => ({ crc, compressedSize, size });
  return finish(Buffer.concat([outer.header, outer.payload]), [
    { ...fieldsOf(outer), name: nameOf(0), offset: 0 },
    { ...fieldsOf(inner), name: nameOf(1), offset: 30 + nameOf(0).length + 4 },
  ]);
}
