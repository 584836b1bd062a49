/**
 * QR code batch: 200 ticket codes written as PNG files through the no-cache writer, one code as
 * SVG, and what a payload that is too long looks like. Everything goes to a temporary directory
 * under os.tmpdir() that is removed at the end.
 *
 * Run: `npm run build && node dist/examples/qr-batch.js`
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BadInputError,
  getDefaultPool,
  residency,
  UnsupportedError,
  writeFileNoCache,
} from 'slabio';
import { qrBatch, renderQr } from 'slabio/qrcode';

const COUNT = 200;
const dir = await mkdtemp(join(tmpdir(), 'slabio-example-qr-'));
try {
  // Any iterable or async iterable of { id, text } works: a database cursor, a generator, an array.
  async function* tickets(): AsyncGenerator<{ id: string; text: string }> {
    for (let i = 1; i <= COUNT; i++) {
      yield { id: `ticket-${String(i).padStart(4, '0')}`, text: `https://example.com/t/${i}` };
    }
  }

  // Results arrive in input order; each file is complete (written, closed) when it is yielded.
  let bytes = 0;
  let last = '';
  const started = performance.now();
  for await (const { path } of qrBatch(tickets(), { outDir: dir, concurrency: 8, scale: 6 })) {
    bytes += (await stat(path)).size;
    last = path;
  }
  const ms = performance.now() - started;
  console.log('wrote %d PNG files, %d bytes in all, in %d ms', COUNT, bytes, Math.round(ms));
  try {
    const { cachedBytes } = await residency(last);
    console.log('last file still in the page cache: %d bytes', cachedBytes);
  } catch (err) {
    // Measuring residency needs the native addon; writing works without it (plain writes).
    if (!(err instanceof UnsupportedError)) throw err;
    console.log('page cache residency not measurable here: %s', err.message);
  }

  // One code as SVG, written from the lease (writeFileNoCache releases it).
  const svg = renderQr('WIFI:T:WPA;S:guest;P:correct horse;;', { format: 'svg', margin: 2 });
  console.log('SVG: %d bytes', svg.buffer.length);
  await writeFileNoCache(join(dir, 'wifi.svg'), svg);

  // Too much text for the chosen error correction level is a typed error, not a crash.
  try {
    renderQr('x'.repeat(2000), { errorCorrectionLevel: 'H' });
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    console.log('%s: %s', err.code, err.message);
  }

  const stats = getDefaultPool().stats();
  console.log(
    'pool: %d bytes in use, %d hits, %d misses',
    stats.inUseBytes,
    stats.hits,
    stats.misses,
  );
  if (stats.inUseBytes !== 0) throw new Error('a lease was not released');
} finally {
  await rm(dir, { recursive: true, force: true });
}
