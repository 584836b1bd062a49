/**
 * Thumbnailer: a zip of uploaded images in, a directory of WebP thumbnails out. Each entry is
 * decompressed into a pooled lease (never written as the original), resized by sharp into another
 * lease, and written through the no-cache writer; the thumbnails directory appears only when the
 * whole archive succeeded. Then the same job on an archive with a `../` entry, which is refused
 * with nothing written. Everything lives in a temporary directory under os.tmpdir(), removed at
 * the end.
 *
 * Run: `npm run build && node dist/examples/thumbnailer.js`
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { getDefaultPool, UnsafeArchiveError } from 'slabio';
import { configureSharp, transformImage } from 'slabio/sharp';
import { extractZip } from 'slabio/zip';
import yazl from 'yazl';

const IMAGES = 16;

/** IMAGES photo-like JPEG and PNG images of different sizes, with noise so they do not compress. */
async function makeImages(): Promise<Record<string, Buffer>> {
  const images: Record<string, Buffer> = {};
  for (let i = 0; i < IMAGES; i++) {
    const width = 320 + 29 * i;
    const height = 240 + 17 * i;
    const image = sharp({
      create: {
        width,
        height,
        channels: 3,
        background: { r: (i * 40) % 256, g: 120, b: 200 },
        noise: { type: 'gaussian', mean: 128, sigma: 30 },
      },
    });
    const jpeg = i % 2 === 0;
    const name = `camera/IMG_${String(i).padStart(4, '0')}.${jpeg ? 'jpg' : 'png'}`;
    images[name] = jpeg ? await image.jpeg().toBuffer() : await image.png().toBuffer();
  }
  return images;
}

/** Zip `files`; images are stored, not deflated: they do not compress, as upload tools know. */
async function zipOf(files: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) {
    zip.addBuffer(data, name, { compress: !/\.(jpg|png)$/.test(name) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const dir = await mkdtemp(join(tmpdir(), 'slabio-example-thumbnailer-'));
try {
  const report = configureSharp();
  console.log(`sharp configured: ${JSON.stringify(report)}`);

  const images = await makeImages();
  const upload = join(dir, 'upload.zip');
  await writeFile(upload, await zipOf(images));
  const thumbs = join(dir, 'thumbs');
  const started = performance.now();
  const result = await extractZip(upload, thumbs, {
    maxEntries: 1000,
    maxTotalBytes: 256 << 20,
    maxEntryBytes: 20 << 20,
    onEntry: async (entry, lease) => ({
      // The entry's lease is read in place by transformImage and released by extractZip afterwards.
      name: entry.name.replace(/\.\w+$/, '.webp'),
      data: await transformImage(lease, (img) => img.resize(160, 160, { fit: 'inside' }).webp()),
    }),
  });
  const ms = performance.now() - started;
  const files = await readdir(join(thumbs, 'camera'));
  const first = await sharp(join(thumbs, 'camera', files[0] as string)).metadata();
  console.log(
    `${result.entries} entries (${(result.bytes / 1048576).toFixed(1)} MiB of images) -> ${result.files} thumbnails in ${ms.toFixed(0)} ms; first is ${first.width}x${first.height} ${first.format}`,
  );
  if (result.files !== IMAGES || files.length !== IMAGES || first.format !== 'webp') {
    throw new Error('thumbnails are missing');
  }

  // An archive with a path-traversal entry: refused before anything is decoded or written.
  // yazl refuses to write such a name, so write a placeholder of the same length and patch it.
  const evil = join(dir, 'evil.zip');
  const placeholder = 'AA/AA/etc/cron.d/evil';
  const bytes = await zipOf({ ...images, [placeholder]: Buffer.from('* * * * * root id\n') });
  for (let at = bytes.indexOf(placeholder); at !== -1; at = bytes.indexOf(placeholder, at)) {
    bytes.write('../../etc/cron.d/evil', at);
  }
  await writeFile(evil, bytes);
  try {
    await extractZip(evil, join(dir, 'evil-thumbs'), {
      onEntry: async (entry, lease) => ({
        name: entry.name,
        data: await transformImage(lease, (img) => img.resize(160)),
      }),
    });
    throw new Error('the traversal entry was not refused');
  } catch (err) {
    if (!(err instanceof UnsafeArchiveError)) throw err;
    console.log(`refused: ${err.code} ${err.message}`);
  }
  const left = (await readdir(dir)).sort();
  console.log(`left in the work directory: ${left.join(', ')}`);
  if (left.join() !== ['evil.zip', 'thumbs', 'upload.zip'].join()) throw new Error('leftovers');
  const inUse = getDefaultPool().stats().inUseBytes;
  console.log(`pool bytes still leased: ${inUse}`);
  if (inUse !== 0) throw new Error('a lease was not released');
} finally {
  await rm(dir, { recursive: true, force: true });
}
