/**
 * Fixtures for the slabio/sharp tests, made at test time: real images encoded by sharp, PNGs
 * encoded by pngjs (an independent encoder), and hand-built PNG headers for decompression bombs.
 */
import { crc32, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import sharp from 'sharp';

/** Raw 8-bit pixels with `channels` channels, the same every time; every pixel differs from its neighbours. */
export function rawPixels(width: number, height: number, channels: 1 | 2 | 3 | 4): Buffer {
  const out = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[i + c] = (x * 7 + y * 13 + c * 61 + x * y) & 0xff;
    }
  }
  return out;
}

/** A photo-like image (noise over a gradient) so JPEG output is not trivially small. */
export async function photo(
  width: number,
  height: number,
  format: 'jpeg' | 'png' | 'webp',
  channels: 3 | 4 = 3,
): Promise<Buffer> {
  const image = sharp(rawPixels(width, height, channels), { raw: { width, height, channels } });
  const noisy = image.composite([
    {
      input: {
        create: {
          width,
          height,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 30 },
        },
      },
      blend: 'overlay',
    },
  ]);
  if (format === 'jpeg') return noisy.jpeg({ quality: 85 }).toBuffer();
  if (format === 'webp') return noisy.webp({ quality: 80 }).toBuffer();
  return noisy.png().toBuffer();
}

/** Encode raw pixels as PNG with pngjs, not libvips. colorType: 0 grey, 4 grey+alpha, 2 RGB, 6 RGBA. */
export function pngjsEncode(
  pixels: Buffer,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): Buffer {
  const colorType = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as const)[channels];
  const png = new PNG({
    width,
    height,
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels % 2 === 0,
  });
  pixels.copy(png.data);
  return PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels % 2 === 0,
  });
}

/** Decode a PNG with pngjs: always RGBA, 8 bits. */
export function pngjsDecode(png: Uint8Array): { width: number; height: number; rgba: Buffer } {
  const decoded = PNG.sync.read(Buffer.from(png));
  return { width: decoded.width, height: decoded.height, rgba: decoded.data };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid-looking PNG declaring `width × height` 8-bit RGB pixels with a tiny IDAT (one zero
 * row's worth, deflated): a decompression bomb's header. Every CRC is correct.
 */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG that pngjs (and the spec) accepts, for checking the bomb builder is not just broken. */
export function isWellFormedPng(png: Buffer): boolean {
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const body = png.subarray(offset + 4, offset + 8 + length);
    if (crc32(body) !== png.readUInt32BE(offset + 8 + length)) return false;
    offset += 12 + length;
  }
  return offset === png.length;
}
