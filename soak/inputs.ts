/**
 * The soak's request bodies, made once at start so nothing is downloaded: photo-like JPEGs and
 * PNGs from the lab's seeded picture generator (about 100 KiB to 2 MiB), tiny PNGs for the slow
 * clients, and bytes that are no image.
 *
 * @module
 */
import sharp from 'sharp';
import { picture } from '../lab/inputs.js';

/** One generated image. */
export interface SoakImage {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  bytes: Buffer;
}

/** Everything the clients send. */
export interface SoakInputs {
  /** Uploads, about 100 KiB to 2 MiB each. */
  images: SoakImage[];
  /** Images of under 100 bytes, sent a byte at a time by the slow clients. */
  tiny: Buffer[];
  /** Pseudo-random bytes that are no image; clients send a slice of it. */
  noise: Buffer;
}

// Width and format of each upload; the sizes land between ~130 KiB and ~1.6 MiB.
const SHAPES: ReadonlyArray<{ format: 'jpeg' | 'png'; width: number }> = [
  { format: 'jpeg', width: 1100 },
  { format: 'jpeg', width: 1800 },
  { format: 'jpeg', width: 3000 },
  { format: 'png', width: 420 },
  { format: 'png', width: 880 },
];

/** Make the inputs (about a second on the reference machine). */
export async function makeSoakInputs(): Promise<SoakInputs> {
  const images: SoakImage[] = [];
  for (const [i, s] of SHAPES.entries()) {
    const height = Math.round((s.width * 3) / 4);
    const img = sharp(picture(i + 1, s.width, height), {
      raw: { width: s.width, height, channels: 3 },
    });
    const bytes = await (s.format === 'jpeg' ? img.jpeg({ quality: 85 }) : img.png()).toBuffer();
    images.push({ format: s.format, width: s.width, height, bytes });
  }
  const tiny: Buffer[] = [];
  for (let side = 1; side <= 4; side++) {
    tiny.push(
      await sharp({
        create: {
          width: side,
          height: side,
          channels: 3,
          background: { r: 40 * side, g: 90, b: 160 },
        },
      })
        .png()
        .toBuffer(),
    );
  }
  // Not an image: a deterministic byte pattern no decoder recognises.
  const noise = Buffer.alloc(512 * 1024);
  let x = 0x2545f491;
  for (let i = 0; i < noise.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    noise[i] = x & 0xff;
  }
  return { images, tiny, noise };
}
