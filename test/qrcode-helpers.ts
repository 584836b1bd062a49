/**
 * Independent checks for slabio/qrcode output: a strict PNG reader written from the spec (every
 * chunk's CRC, exact length, all five filters, bit depths 1 and 8 grayscale), an SVG path reader,
 * and jsQR decoding.
 */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import jsQRModule from 'jsqr';

// jsqr is CommonJS whose `module.exports` is the function itself (with a `default` alias); its
// types only declare the default export, which NodeNext types as the whole module object.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** A decoded grayscale image: one byte per pixel, 0 = black, 255 = white. */
export interface Gray {
  width: number;
  height: number;
  pixels: Uint8Array;
}

// Bitwise CRC-32 (no table) so the check does not share code with the encoder (zlib.crc32).
function crc32Bitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Parse a grayscale PNG strictly; throws (assert) on any deviation from the spec. */
export function readPng(png: Uint8Array): Gray {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  const types: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    const crc = buf.readUInt32BE(at + 8 + length);
    assert.equal(crc, crc32Bitwise(buf.subarray(at + 4, at + 8 + length)), `CRC of ${type}`);
    types.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  assert.equal(at, buf.length, 'no bytes after IEND');
  assert.equal(types[0], 'IHDR');
  assert.equal(types.at(-1), 'IEND');
  assert.ok(ihdr);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const depth = ihdr[8] as number;
  assert.equal(ihdr[9], 0, 'colour type grayscale');
  assert.ok(depth === 1 || depth === 8, `bit depth ${depth}`);
  assert.deepEqual([ihdr[10], ihdr[11], ihdr[12]], [0, 0, 0]);
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = Math.ceil((width * depth) / 8);
  assert.equal(raw.length, height * (rowBytes + 1), 'scanline bytes');
  const rows = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)] as number;
    assert.ok(filter <= 4, `filter ${filter}`);
    for (let i = 0; i < rowBytes; i++) {
      const x = raw[y * (rowBytes + 1) + 1 + i] as number;
      const a = i > 0 ? (rows[y * rowBytes + i - 1] as number) : 0;
      const b = y > 0 ? (rows[(y - 1) * rowBytes + i] as number) : 0;
      const c = i > 0 && y > 0 ? (rows[(y - 1) * rowBytes + i - 1] as number) : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] as number;
      rows[y * rowBytes + i] = (x + pred) & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v =
        depth === 8
          ? (rows[y * rowBytes + x] as number)
          : ((rows[y * rowBytes + (x >> 3)] as number) >> (7 - (x & 7))) & 1
            ? 255
            : 0;
      pixels[y * width + x] = v;
    }
  }
  return { width, height, pixels };
}

/** Decode the QR code in a grayscale image with jsQR; `null` when none is found. */
export function decodeGray(img: Gray): string | null {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.pixels.length; i++) {
    const v = img.pixels[i] as number;
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return jsQR(rgba, img.width, img.height)?.data ?? null;
}

/** Decode a PNG file's QR code. */
export function decodePng(png: Uint8Array): string | null {
  return decodeGray(readPng(png));
}

/** Draw a module matrix (1 = dark) as a grayscale image, `scale` px per module, `margin` modules. */
export function matrixImage(size: number, data: Uint8Array, scale: number, margin: number): Gray {
  const width = (size + 2 * margin) * scale;
  const pixels = new Uint8Array(width * width).fill(255);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      const my = Math.floor(y / scale) - margin;
      const mx = Math.floor(x / scale) - margin;
      if (my >= 0 && mx >= 0 && my < size && mx < size && data[my * size + mx]) {
        pixels[y * width + x] = 0;
      }
    }
  }
  return { width, height: width, pixels };
}

/** The parsed form of slabio's SVG: size attributes and the dark-module matrix its path draws. */
export interface ParsedSvg {
  widthPx: number;
  viewBoxModules: number;
  /** `viewBoxModules²` cells, 1 = dark. */
  cells: Uint8Array;
}

/** Read back slabio's SVG (runs of `M x y.5 h n`) into a module grid. */
export function readSvg(svg: string): ParsedSvg {
  const attrs = /<svg [^>]*width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  assert.ok(attrs, 'svg root attributes');
  const [, w, h, vw, vh] = attrs;
  assert.equal(w, h);
  assert.equal(vw, vh);
  const n = Number(vw);
  const path = /<path stroke="#000000"[^>]* d="([^"]*)"\/>/.exec(svg)?.[1];
  assert.ok(path !== undefined, 'dark path');
  const cells = new Uint8Array(n * n);
  const runs = path.match(/M\d+ \d+\.5h\d+/g) ?? [];
  assert.equal(runs.join(''), path, 'path is only M x y.5 h n runs');
  for (const run of runs) {
    const [, x, y, len] = /M(\d+) (\d+)\.5h(\d+)/.exec(run) ?? [];
    for (let i = 0; i < Number(len); i++) cells[Number(y) * n + Number(x) + i] = 1;
  }
  return { widthPx: Number(w), viewBoxModules: n, cells };
}
