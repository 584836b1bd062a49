/** Compressed fixtures made at test time: bombs are streamed, never held uncompressed. */
import zlib from 'node:zlib';
import { MiB, noise } from './helpers.js';

/** A vocabulary of made-up words, so that neither deflate nor brotli's dictionary finds much. */
const VOCABULARY: string[] = (() => {
  const bytes = noise(4096 * 9, 99);
  const words: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const len = 3 + ((bytes[i * 9] as number) % 7);
    let w = '';
    for (let j = 1; j <= len; j++)
      w += String.fromCharCode(97 + ((bytes[i * 9 + j] as number) % 26));
    words.push(w);
  }
  return words;
})();

/** Text that compresses about 2-4:1 in every format, like real JSON or logs. */
export function text(n: number): Buffer {
  const picks = noise(Math.ceil(n / 2) * 2, 5);
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i += 2) {
    const w = `${VOCABULARY[picks.readUInt16LE(i % (picks.length - 1)) % 4096]} `;
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('').slice(0, n));
}

type Compressor = zlib.Gzip | zlib.Deflate | zlib.DeflateRaw | zlib.BrotliCompress;

/** Compressors tuned for zeros: RLE deflate and brotli quality 1 make 1 GiB in well under a second. */
export function bombCompressor(format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli'): Compressor {
  const rle = { level: 9, strategy: zlib.constants.Z_RLE };
  if (format === 'gzip') return zlib.createGzip(rle);
  if (format === 'deflate') return zlib.createDeflate(rle);
  if (format === 'deflate-raw') return zlib.createDeflateRaw(rle);
  return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
}

/**
 * `bytes` zeros compressed in `format`, produced by streaming 1 MiB of zeros through the
 * compressor again and again: the uncompressed bomb never exists in memory.
 */
export async function zeroBomb(
  format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli',
  bytes: number,
): Promise<Buffer> {
  const compressor = bombCompressor(format);
  const out: Buffer[] = [];
  compressor.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    compressor.on('end', resolve);
    compressor.on('error', reject);
  });
  const zero = Buffer.alloc(MiB);
  for (let left = bytes; left > 0; left -= MiB) {
    const chunk = left >= MiB ? zero : zero.subarray(0, left);
    if (!compressor.write(chunk)) await new Promise((r) => compressor.once('drain', r));
  }
  compressor.end();
  await done;
  return Buffer.concat(out);
}

export function compressSync(
  format: 'gzip' | 'deflate' | 'deflate-raw' | 'brotli',
  data: Buffer,
): Buffer {
  if (format === 'gzip') return zlib.gzipSync(data);
  if (format === 'deflate') return zlib.deflateSync(data);
  if (format === 'deflate-raw') return zlib.deflateRawSync(data);
  // Quality 5 instead of the default 11: a hundred times faster on megabytes of test data.
  return zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
}
