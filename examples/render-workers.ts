/**
 * Rendering off the event loop: 2,000 QR codes and 10 PDFs on two worker threads while a timer on
 * the main thread keeps ticking. Results are leases of a shared pool, released as they come.
 *
 * Run: `npm run build && node dist/examples/render-workers.js`
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BufferPool, RenderWorkers, WorkerError } from 'slabio';
import { renderPdfInWorker } from 'slabio/pdfkit';
import { qrBatch } from 'slabio/qrcode';

// Workers write into the pool's blocks, so its slabs must be SharedArrayBuffers.
const pool = new BufferPool({ shared: true, maxBytes: 64 << 20 });
const workers = new RenderWorkers({ max: 2, idleTimeoutMs: 10_000 });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
try {
  const tickets = Array.from({ length: 2000 }, (_, i) => ({
    id: i,
    text: `https://example.com/t/${i}`,
  }));
  let bytes = 0;
  for await (const { lease } of qrBatch(tickets, { workers, pool })) {
    bytes += lease.buffer.length;
    lease.release();
  }
  console.log('2000 QR codes, %d bytes of PNG', bytes);

  // A PDF build runs in a worker as a module export with serialisable data, never a closure.
  const build = { module: new URL('./workers/ticket.js', import.meta.url), export: 'drawTicket' };
  const leases = await Promise.all(
    Array.from({ length: 10 }, (_, id) =>
      renderPdfInWorker({ ...build, data: { id } }, { workers, pool }),
    ),
  );
  console.log(
    '10 PDFs, %d bytes',
    leases.reduce((n, l) => n + l.buffer.length, 0),
  );
  for (const lease of leases) lease.release();

  // A build that is not there fails as a WorkerError with the worker's error as its cause.
  try {
    await renderPdfInWorker({ ...build, export: 'missing' }, { workers, pool });
  } catch (err) {
    if (!(err instanceof WorkerError)) throw err;
    console.log('%s (%s): %s', err.code, err.reason, (err.cause as Error).message);
  }
} finally {
  await workers.close();
  delay.disable();
}
console.log('main-thread event-loop delay p99: %s ms', (delay.percentile(99) / 1e6).toFixed(1));
if (pool.stats().inUseBytes !== 0) throw new Error('a lease was left in use');
