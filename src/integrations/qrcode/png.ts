/**
 * A minimal PNG encoder for QR module matrices: 1-bit grayscale, one IDAT.
 *
 * A QR code is two colours, so 1 bit per pixel is lossless and makes the raw image 32× smaller
 * than the RGBA that `qrcode.toBuffer` feeds to pngjs; deflate then has 32× less to scan.
 *
 * @module
 */
import { constants, crc32, deflateSync } from 'node:zlib';
import type { BufferPool, Lease } from '../../pool/index.js';

/** The module matrix as `qrcode.create(...).modules` gives it: `size × size`, 1 = dark. */
export interface ModuleMatrix {
  readonly size: number;
  readonly data: Uint8Array;
}

/** Geometry of the rendered image. */
export interface PngGeometry {
  /** Width and height in pixels. */
  readonly width: number;
  /** Bytes per scanline including its filter byte. */
  readonly stride: number;
  /** Bytes of all scanlines: what deflate compresses. */
  readonly rawLength: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Chunk framing: 4 length + 4 type + 4 CRC around the data.
const CHUNK_OVERHEAD = 12;
const IHDR_LENGTH = 13;
const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const FILTER_NONE = 0;
// PNG filter type 2 ("Up"): a row equal to the one above becomes all zero bytes, which deflate
// encodes as one long run. Every module row is repeated `scale` times, so most rows are repeats.
const FILTER_UP = 2;

/** Image size for a matrix at `scale` pixels per module with a `margin`-module quiet zone. */
export function pngGeometry(size: number, scale: number, margin: number): PngGeometry {
  const width = (size + 2 * margin) * scale;
  const stride = 1 + Math.ceil(width / 8);
  return { width, stride, rawLength: stride * width };
}

/**
 * Write the filtered scanlines of the matrix into `out` (at least `geometry.rawLength` bytes).
 * Dark modules are 0 bits (black), light and quiet zone are 1 bits (white).
 */
export function writeScanlines(
  out: Buffer,
  matrix: ModuleMatrix,
  scale: number,
  margin: number,
  geometry: PngGeometry,
): void {
  const { size, data } = matrix;
  const { stride, width } = geometry;
  const quietPx = margin * scale;
  let row = 0;
  const repeat = (): void => {
    const at = row * stride;
    out[at] = FILTER_UP;
    out.fill(0, at + 1, at + stride);
    row++;
  };
  const white = (): void => {
    const at = row * stride;
    out[at] = FILTER_NONE;
    out.fill(0xff, at + 1, at + stride);
    row++;
  };
  // Top quiet zone: one white row, then repeats of it.
  if (quietPx > 0) white();
  while (row < quietPx) repeat();
  for (let y = 0; y < size; y++) {
    const at = row * stride;
    out[at] = FILTER_NONE;
    out.fill(0xff, at + 1, at + stride);
    const base = y * size;
    for (let x = 0; x < size; x++) {
      if (data[base + x] === 0) continue;
      const px = quietPx + x * scale;
      for (let p = px; p < px + scale; p++) {
        const i = at + 1 + (p >> 3);
        out[i] = (out[i] as number) & ~(0x80 >> (p & 7));
      }
    }
    row++;
    for (let r = 1; r < scale; r++) repeat();
  }
  // Bottom quiet zone: a fresh white row after the last module row, then repeats.
  if (row < width) white();
  while (row < width) repeat();
}

/** Deflate settings used for every code; see docs/design/qrcode.md for how they were chosen. */
export const DEFLATE_OPTIONS = {
  level: 6,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

/**
 * Deflate the scanlines (zlib format, as IDAT requires). Returns a small Buffer that is copied
 * into the final lease; `chunkSize` is set to the data's worst-case bound so zlib allocates
 * one output buffer and never concatenates.
 */
export function deflateScanlines(raw: Uint8Array, level: number = DEFLATE_OPTIONS.level): Buffer {
  // zlib's deflateBound for stored blocks: 5 bytes per 16 KiB block + 6 header/trailer bytes.
  const bound = raw.length + 5 * Math.ceil(raw.length / 16384 + 1) + 6;
  return deflateSync(raw, {
    level,
    strategy: DEFLATE_OPTIONS.strategy,
    chunkSize: Math.max(64, bound),
  });
}

/** Total PNG length for an IDAT of `idatLength` bytes. */
export function pngLength(idatLength: number): number {
  return (
    SIGNATURE.length + CHUNK_OVERHEAD + IHDR_LENGTH + CHUNK_OVERHEAD + idatLength + IEND.length
  );
}

// A chunk's CRC-32 covers its type and data, not its length (zlib.crc32: Node ≥ 20.15).
function writeChunkCrc(out: Buffer, typeAt: number, end: number): number {
  out.writeUInt32BE(crc32(out.subarray(typeAt, end)), end);
  return end + 4;
}

/**
 * Assemble signature + IHDR + IDAT + IEND into `out`, which must be exactly
 * `pngLength(idat.length)` bytes.
 */
export function assemblePng(out: Buffer, width: number, idat: Uint8Array): void {
  let at = SIGNATURE.copy(out, 0);
  out.writeUInt32BE(IHDR_LENGTH, at);
  const ihdrType = at + 4;
  out.write('IHDR', ihdrType, 'latin1');
  at = ihdrType + 4;
  out.writeUInt32BE(width, at);
  out.writeUInt32BE(width, at + 4);
  out[at + 8] = 1; // bit depth
  out[at + 9] = 0; // colour type 0: grayscale
  out[at + 10] = 0; // compression: deflate
  out[at + 11] = 0; // filter method 0 (adaptive, per-row filter byte)
  out[at + 12] = 0; // no interlace
  at = writeChunkCrc(out, ihdrType, at + IHDR_LENGTH);
  out.writeUInt32BE(idat.length, at);
  const idatType = at + 4;
  out.write('IDAT', idatType, 'latin1');
  out.set(idat, idatType + 4);
  at = writeChunkCrc(out, idatType, idatType + 4 + idat.length);
  IEND.copy(out, at);
}

/** Render `matrix` to a PNG in one lease of exactly the PNG's length, acquired synchronously. */
export function encodePng(
  pool: BufferPool,
  matrix: ModuleMatrix,
  scale: number,
  margin: number,
): Lease {
  const geometry = pngGeometry(matrix.size, scale, margin);
  let idat: Buffer;
  {
    using raw = pool.acquire(geometry.rawLength);
    writeScanlines(raw.buffer, matrix, scale, margin, geometry);
    idat = deflateScanlines(raw.buffer);
  }
  const lease = pool.acquire(pngLength(idat.length));
  assemblePng(lease.buffer, geometry.width, idat);
  return lease;
}

/** {@link encodePng} with both leases acquired through `acquireAsync`, so a `'wait'` pool can queue. */
export async function encodePngAsync(
  pool: BufferPool,
  matrix: ModuleMatrix,
  scale: number,
  margin: number,
  signal: AbortSignal | undefined,
): Promise<Lease> {
  const geometry = pngGeometry(matrix.size, scale, margin);
  const opts = signal === undefined ? {} : { signal };
  let idat: Buffer;
  {
    using raw = await pool.acquireAsync(geometry.rawLength, opts);
    writeScanlines(raw.buffer, matrix, scale, margin, geometry);
    idat = deflateScanlines(raw.buffer);
  }
  const lease = await pool.acquireAsync(pngLength(idat.length), opts);
  assemblePng(lease.buffer, geometry.width, idat);
  return lease;
}
