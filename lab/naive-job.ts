/**
 * The batch job as it is usually written: the upload opened with yauzl — from the file
 * (`yauzl.open`, `naiveZip: 'stream'`) or read whole first (`fs.readFile` + `yauzl.fromBuffer`,
 * `naiveZip: 'buffer'`, what multer's memory storage, adm-zip and JSZip amount to) — entries
 * collected with `Buffer.concat`, sharp's `toBuffer()`, thumbnails written with `fs.writeFile` and
 * read back with `fs.readFile`, a `qrcode.toBuffer` per label as it is laid out, and pdfkit piped
 * into `fs.createWriteStream`. Nothing here is wrong; it is how such services are commonly written. Same
 * steps, order and concurrency as `slabio-job.ts`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { labelText, layoutLabels, qrText, thumbName } from './job-shared.js';
import type { JobSpec, NaiveZip } from './types.js';

async function openZip(zipPath: string, mode: NaiveZip): Promise<yauzl.ZipFile> {
  const done =
    (resolve: (z: yauzl.ZipFile) => void, reject: (e: Error) => void) =>
    (err: Error | null, zip?: yauzl.ZipFile) =>
      err ? reject(err) : resolve(zip as yauzl.ZipFile);
  if (mode === 'stream') {
    // autoClose off: the entries are listed first and read afterwards, so the file must stay open
    // past the listing's 'end'.
    return new Promise((resolve, reject) => {
      yauzl.open(zipPath, { lazyEntries: true, autoClose: false }, done(resolve, reject));
    });
  }
  const upload = await readFile(zipPath);
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(upload, { lazyEntries: true }, done(resolve, reject));
  });
}

function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      if (!e.fileName.endsWith('/')) entries.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => resolve(Buffer.concat(chunks)));
      stream.once('error', reject);
    });
  });
}

/** The hand-rolled worker pool people write instead of installing p-limit. */
async function mapLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Run the batch; see the module comment. */
export async function runJob(spec: JobSpec, onItem: () => void): Promise<number> {
  const thumbsDir = path.join(spec.outDir, 'thumbs');
  const pdfDir = path.join(spec.outDir, 'pdf');
  await mkdir(thumbsDir, { recursive: true });
  await mkdir(pdfDir, { recursive: true });

  const zip = await openZip(spec.zipPath, spec.naiveZip);
  const entries = await listEntries(zip);
  const sums: string[] = new Array(entries.length);
  const names: string[] = new Array(entries.length);
  const uploaded = createHash('sha256');

  await mapLimit(entries, spec.concurrency, async (entry, i) => {
    const image = await readEntry(zip, entry);
    const thumb = await sharp(image)
      .resize({ width: spec.thumbWidth, height: spec.thumbWidth, fit: 'inside' })
      .jpeg({ quality: 80 })
      .toBuffer();
    const name = thumbName(entry.fileName);
    const thumbPath = path.join(thumbsDir, name);
    await writeFile(thumbPath, thumb);
    // The uploader reads the file twice: once for its Content-MD5, once to send the body.
    const md5 = createHash('md5')
      .update(await readFile(thumbPath))
      .digest('hex');
    uploaded.update(await readFile(thumbPath));
    sums[i] = md5;
    names[i] = name;
    onItem();
  });
  zip.close();

  for (let first = 0; first < entries.length; first += spec.itemsPerPdf) {
    const pdfPath = path.join(pdfDir, `labels-${String(first / spec.itemsPerPdf + 1)}.pdf`);
    const doc = new PDFDocument({ size: 'A4', margin: 0, autoFirstPage: false });
    const out = doc.pipe(createWriteStream(pdfPath));
    const count = Math.min(spec.itemsPerPdf, entries.length - first);
    for (const cell of layoutLabels(count)) {
      if (cell.newPage) doc.addPage();
      const i = first + cell.index;
      const name = names[i] as string;
      const qr = await QRCode.toBuffer(qrText(name, sums[i] as string), {
        errorCorrectionLevel: 'M',
        scale: 4,
        margin: 4,
      });
      doc.image(qr, cell.x, cell.y, { width: cell.size });
      doc.fontSize(7).text(labelText(name), cell.x, cell.y + cell.size + 2, {
        width: cell.size,
      });
    }
    doc.end();
    await finished(out);
    uploaded.update(await readFile(pdfPath));
  }
  uploaded.digest();
  return entries.length;
}
