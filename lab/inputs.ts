/**
 * The lab's inputs, made at start so nothing is downloaded: a zip of JPEG photos. The pixels come
 * from a seeded generator, so every run on every machine processes the same bytes.
 *
 * @module
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import yazl from 'yazl';

/** Options of {@link makeInputs}. */
export interface InputOptions {
  /** Where the zip is written. */
  zipPath: string;
  /** Images in the zip. */
  items: number;
  /** Distinct pictures; the zip repeats them under new names to reach `items` cheaply. */
  distinct: number;
  /** Picture width in pixels (height is 3/4 of it). */
  width: number;
  signal?: AbortSignal;
}

/** What {@link makeInputs} made. */
export interface Inputs {
  zipPath: string;
  items: number;
  zipBytes: number;
  /** Sum of the JPEG sizes in the zip. */
  imageBytes: number;
  width: number;
  height: number;
}

// A fixed timestamp keeps the zip byte-identical from run to run.
const MTIME = new Date(Date.UTC(2024, 0, 1));

/** xorshift32: small, fast and the same everywhere. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * One photo-like RGB picture: smooth gradients and waves (what JPEG compresses well) under fine
 * grain (what it does not), so files land near the size of real camera-phone JPEGs.
 */
export function picture(seed: number, width: number, height: number): Buffer {
  const next = rng(seed * 2654435761);
  const px = Buffer.allocUnsafe(width * height * 3);
  const [r0, g0, b0] = [next() % 200, next() % 200, next() % 200];
  const fx = 0.004 + (next() % 100) / 10_000;
  const fy = 0.003 + (next() % 100) / 10_000;
  let i = 0;
  for (let y = 0; y < height; y++) {
    const wy = Math.sin(y * fy) * 40;
    for (let x = 0; x < width; x++) {
      const wave = wy + Math.cos(x * fx + y * 0.002) * 40;
      const grain = next();
      px[i++] = (r0 + (x * 55) / width + wave + (grain & 15)) & 0xff;
      px[i++] = (g0 + (y * 55) / height - wave + ((grain >>> 8) & 15)) & 0xff;
      px[i++] = (b0 + wave * 0.5 + ((grain >>> 16) & 15)) & 0xff;
    }
  }
  return px;
}

/** Write the zip of `items` JPEGs (stored, as photos are not worth deflating). */
export async function makeInputs(options: InputOptions): Promise<Inputs> {
  const { zipPath, items, width, signal } = options;
  const height = Math.round((width * 3) / 4);
  const distinct = Math.max(1, Math.min(options.distinct, items));
  const jpegs: Buffer[] = [];
  for (let k = 0; k < distinct; k++) {
    signal?.throwIfAborted();
    const raw = picture(k + 1, width, height);
    jpegs.push(
      await sharp(raw, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
  }
  const zip = new yazl.ZipFile();
  let imageBytes = 0;
  for (let n = 0; n < items; n++) {
    const jpeg = jpegs[n % distinct] as Buffer;
    imageBytes += jpeg.length;
    zip.addBuffer(jpeg, `photos/item-${String(n + 1).padStart(5, '0')}.jpg`, {
      mtime: MTIME,
      compress: false,
    });
  }
  zip.end();
  await pipeline(
    zip.outputStream,
    createWriteStream(zipPath),
    signal === undefined ? {} : { signal },
  );
  return { zipPath, items, zipBytes: (await stat(zipPath)).size, imageBytes, width, height };
}
