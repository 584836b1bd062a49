/**
 * The batch job with slabio: the zip is read entry by entry into pooled leases (`extractZip` with
 * `onEntry`), photos are resized into leases (`transformImage`), thumbnails and PDFs are written
 * and read back without leaving page cache behind (`writeFileNoCache`, `readFileNoCache`,
 * `renderPdfInWorker` on a render worker, the finished PDF written with `writeFileNoCache`), the
 * label QR codes are rendered in that worker, the results come from one bounded pool, and the pool and the allocator give their memory back at the end. Same steps, order and
 * concurrency as `naive-job.ts`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  BufferPool,
  dropCache,
  type Lease,
  RenderWorkers,
  readFileNoCache,
  writeFileNoCache,
} from '../src/index.js';
import { renderPdfInWorker } from '../src/integrations/pdfkit/index.js';
import { configureSharp, transformImage } from '../src/integrations/sharp/index.js';
import { extractZip } from '../src/integrations/zip/index.js';
import { mallocTrim } from '../src/linux/index.js';
import { qrText, thumbName } from './job-shared.js';
import type { JobSpec } from './types.js';

const MiB = 1024 * 1024;
const LABEL_BUILD = new URL('./label-build.js', import.meta.url);
const CLASSES = Array.from({ length: 11 }, (_, i) => 4096 * 2 ** i); // 4 KiB … 4 MiB

/** Lets `limit` holders in at a time; the rest wait in order. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

function md5(lease: Lease): string {
  try {
    return createHash('md5').update(lease.buffer).digest('hex');
  } finally {
    lease.release();
  }
}

/** Run the batch; see the module comment. */
export async function runJob(spec: JobSpec, onItem: () => void): Promise<number> {
  // libvips' cache off and one libvips thread per image: images already run `concurrency` at once.
  configureSharp({ warnMallocArena: false });
  // Budget: the photos in flight (one per slot plus the one being read) and their thumbnails.
  // One class per doubling instead of the default four: this job's sizes spread over a dozen
  // classes, and every class in use holds at least one 1 MiB slab.
  const pool = new BufferPool({ maxBytes: 32 * MiB, sizeClasses: CLASSES, onExhausted: 'wait' });
  const thumbsDir = path.join(spec.outDir, 'thumbs');
  const pdfDir = path.join(spec.outDir, 'pdf');
  await mkdir(thumbsDir, { recursive: true });
  await mkdir(pdfDir, { recursive: true });

  const names: string[] = [];
  const sums: string[] = [];
  const uploaded = createHash('sha256');
  const slots = new Slots(spec.concurrency);
  const inFlight = new Set<Promise<void>>();
  let failed: unknown = null;
  let count = 0;

  const processItem = async (index: number, name: string, photo: Lease): Promise<void> => {
    try {
      const thumb = await transformImage(
        photo,
        (img) =>
          img
            .resize({ width: spec.thumbWidth, height: spec.thumbWidth, fit: 'inside' })
            .jpeg({ quality: 80 }),
        { pool },
      );
      photo.release();
      const thumbPath = path.join(thumbsDir, name);
      await writeFileNoCache(thumbPath, thumb); // releases the lease
      // The uploader reads the file twice: once for its Content-MD5, once to send the body.
      sums[index] = md5(await readFileNoCache(thumbPath, { pool }));
      const body = await readFileNoCache(thumbPath, { pool });
      uploaded.update(body.buffer);
      body.release();
      names[index] = name;
      onItem();
    } finally {
      if (!photo.released) photo.release();
    }
  };

  await extractZip(spec.zipPath, null, {
    pool,
    onEntry: async (entry) => {
      if (failed !== null) throw failed;
      // Keep the photo past this callback so the next entry is read while this one is resized.
      const photo = entry.takeLease();
      await slots.take();
      const task = processItem(count++, thumbName(entry.name), photo)
        .catch((err: unknown) => {
          failed ??= err;
        })
        .finally(() => {
          inFlight.delete(task);
          slots.give();
        });
      inFlight.add(task);
      return undefined;
    },
  });
  await Promise.all(inFlight);
  if (failed !== null) throw failed;
  // extractZip reads the archive with plain reads; the upload is done with, so drop its cache.
  await dropCache(spec.zipPath);

  // The label sheets are drawn on a render worker: the main thread only leases each finished
  // PDF's block and writes it, so its event loop stays free while pdfkit and qrcode work.
  const workers = new RenderWorkers({ max: 1 });
  // Shared slabs, for the PDFs only: the worker writes each finished PDF straight into a block.
  const pdfPool = new BufferPool({
    maxBytes: 16 * MiB,
    sizeClasses: CLASSES,
    onExhausted: 'wait',
    shared: true,
  });
  try {
    for (let first = 0; first < count; first += spec.itemsPerPdf) {
      const pdfPath = path.join(pdfDir, `labels-${String(first / spec.itemsPerPdf + 1)}.pdf`);
      const labels = Array.from({ length: Math.min(spec.itemsPerPdf, count - first) }, (_, j) => {
        const name = names[first + j] as string;
        return { name, qr: qrText(name, sums[first + j] as string) };
      });
      const pdf = await renderPdfInWorker(
        { module: LABEL_BUILD, export: 'drawLabels', data: { labels } },
        { workers, pool: pdfPool, document: { size: 'A4', margin: 0, autoFirstPage: false } },
      );
      await writeFileNoCache(pdfPath, pdf, { atomic: true }); // releases the lease
      const back = await readFileNoCache(pdfPath, { pool });
      uploaded.update(back.buffer);
      back.release();
    }
  } finally {
    await workers.close();
    pdfPool.close();
  }
  uploaded.digest();

  // The batch is over: drop the pool's slabs and hand freed malloc pages back to the kernel, so
  // the service idles at its baseline instead of at its peak.
  pool.close();
  mallocTrim();
  return count;
}
