/**
 * A service that keeps itself under its container memory limit: the MemoryGuard trims the pool
 * and drops page cache at 80% of the limit, and at 92% fails readiness, drains and exits, so
 * Kubernetes restarts it cleanly instead of OOM-killing it mid-request.
 *
 * Routes: `POST /thumbnail` (an image upload in, a 320 px WebP out), `/work` (write a generated
 * file, read it back), `/metrics`, `/ready`, `/healthz`, `/debug/pool` (the pool's stats as JSON).
 *
 * Environment: `PORT` (default 8080), `POOL_MAX_BYTES` (the pool's budget, default 64 MiB),
 * `UPLOAD_MAX_BYTES` (largest upload, default 8 MiB), `DRAIN_GRACE_MS` (how long a draining
 * service keeps serving after failing readiness, default 3000).
 *
 * Run: `npm run build && node dist/examples/kubernetes/service.js`, or with `--self-test` to start
 * on a free port, exercise every route (and /work concurrently), drain and exit 0. `npm run soak`
 * runs it under load in a memory cgroup (see soak/README.md).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';
import sharp from 'sharp';
import {
  BadInputError,
  BufferPool,
  drainAndExit,
  LimitExceededError,
  MemoryGuard,
  PoolExhaustedError,
  ReadinessGate,
  readAll,
  readFileNoCache,
  SlabioError,
  SlabioTimeoutError,
  trackFile,
  writeFileNoCache,
} from 'slabio';
import { registerSlabioMetrics } from 'slabio/prom';
import { configureSharp, transformImage } from 'slabio/sharp';

const selfTest = process.argv.includes('--self-test');
const envBytes = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be bytes, got ${v}`);
  return v;
};
const pool = new BufferPool({ maxBytes: envBytes('POOL_MAX_BYTES', 64 * 1024 * 1024) });
const UPLOAD_MAX_BYTES = envBytes('UPLOAD_MAX_BYTES', 8 * 1024 * 1024);
const registry = new Registry();
configureSharp(); // no libvips cache, one libvips thread per image
let server: http.Server;

const gate = new ReadinessGate();
const drain = (why: string) => {
  console.log(`draining: ${why}`);
  // graceMs: keep serving while the failed readiness probe takes the pod out of the Service.
  return drainAndExit(server, {
    readiness: gate,
    graceMs: selfTest ? 0 : Number(process.env.DRAIN_GRACE_MS ?? 3000),
    deadlineMs: 20_000,
    exitCode: 0,
  });
};
const guard = new MemoryGuard({
  soft: 0.8,
  hard: 0.92,
  pools: [pool],
  onHard: (s) => void drain(`working set ${s.memory.workingSet} ≥ hard threshold ${s.hardBytes}`),
});
guard.on('soft', (r) =>
  console.log(
    `soft threshold: trimmed ${r.trimmedBytes} B, dropped ${r.droppedFiles} files' cache`,
  ),
);
// A guard that cannot read the cgroup acts on nothing; keep serving (ready() stays as it was) but
// say so in the log, and on /metrics as slabio_guard_blind.
guard.on('blind', (b) => console.error(`memory guard is blind: ${String(b.error)}`));
guard.on('unblind', (u) =>
  console.log(`memory guard reads again after ${u.failedSamples} failures`),
);
const gateWithGuard = new ReadinessGate({ checks: [gate, guard] });
registerSlabioMetrics({ registry, guard, pools: { default: pool } });

// Since start, never reset: prom-client's own event-loop gauges reset at every scrape, so with
// more than one scraper each one sees only the window since the other's last scrape.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let inFlight = 0;
new Gauge({
  name: 'http_requests_in_flight',
  help: 'Requests received and not yet answered.',
  registers: [registry],
  collect() {
    this.set(inFlight);
  },
});
new Gauge({
  name: 'nodejs_eventloop_delay_since_start_seconds',
  help: 'Event-loop delay since the process started (monitorEventLoopDelay).',
  labelNames: ['quantile'],
  registers: [registry],
  collect() {
    for (const q of [50, 99])
      this.set({ quantile: String(q / 100) }, loopDelay.percentile(q) / 1e9);
    this.set({ quantile: '1' }, loopDelay.max / 1e9);
  },
});

/** A temp file name per request: requests run concurrently and must not share files. */
const tempFile = (ext: string): string =>
  path.join(os.tmpdir(), `slabio-example-${randomUUID()}.${ext}`);

// /work stands for a typical job: write a generated file, read it back, answer.
async function work(res: http.ServerResponse): Promise<void> {
  using lease = pool.acquire(256 * 1024);
  lease.buffer.fill(42);
  const file = tempFile('bin');
  try {
    await writeFile(file, lease.buffer);
    trackFile(file); // the guard may drop its page cache under pressure
    const back = await readFile(file);
    res.end(`wrote and read ${back.length} bytes\n`);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * An upload becomes a WebP thumbnail: the body is read into one pooled lease under the limit (no
 * signal: a slabio call settles on its own, and the client's disconnect ends the read), resized by
 * sharp into another lease, written with the no-cache writer (as an uploader would stage it) and
 * read back without caching it. Each lease is released as soon as the next step has its bytes.
 */
async function thumbnail(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readAll(req, { pool, maxBytes: UPLOAD_MAX_BYTES });
  let thumb: Awaited<ReturnType<typeof transformImage>>;
  try {
    thumb = await transformImage(
      body,
      (img) => img.rotate().resize(320, 320, { fit: 'inside' }).webp(),
      {
        pool,
        maxInputBytes: UPLOAD_MAX_BYTES,
      },
    );
  } finally {
    body.release();
  }
  const file = tempFile('webp');
  let out: Awaited<ReturnType<typeof readFileNoCache>>;
  try {
    await writeFileNoCache(file, thumb); // releases the thumbnail's lease
    out = await readFileNoCache(file, { pool });
  } finally {
    await rm(file, { force: true });
  }
  // The socket may still hold the buffer after end(): release once the response is done with.
  res.once('close', () => out.release());
  res.writeHead(200, { 'content-type': 'image/webp', 'content-length': out.buffer.length });
  res.end(out.buffer);
}

/** An HTTP status for a failure: the client's fault, the service's load, or a bug. */
function statusOf(err: unknown): number {
  if (err instanceof LimitExceededError) return 413;
  if (err instanceof BadInputError) return 415;
  // The pool's budget is spent (or a wait for it ran out): overloaded, the client may retry.
  if (err instanceof PoolExhaustedError || err instanceof SlabioTimeoutError) return 503;
  return 500;
}

/**
 * Answer a failure with {@link statusOf}'s status, and log it with the request's `x-request-id`
 * (operators match it with what the client saw). A request whose socket is gone cannot be answered:
 * a slabio error there means the read gave up and destroyed it, which is logged as unanswered; any
 * other error is the client's own disconnect.
 */
function fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  const id = req.headers['x-request-id'] ?? '-';
  const code = err instanceof SlabioError ? err.code : (err as Error)?.name;
  if (req.socket.destroyed) {
    if (err instanceof SlabioError) console.log(`request ${id}: unanswered ${code}`);
    return;
  }
  const status = statusOf(err);
  if (status === 500) console.error(err);
  console.log(`request ${id}: ${status} ${code}`);
  if (res.headersSent) return void res.destroy();
  // connection: close lets Node drop the rest of an upload instead of reading it to the end.
  res.writeHead(status, { connection: 'close', ...(status === 503 ? { 'retry-after': '1' } : {}) });
  res.end(`${(err as Error).message}\n`);
}

server = http.createServer((req, res) => {
  inFlight++;
  res.once('close', () => inFlight--);
  if (req.url === '/healthz') return void res.end('ok\n');
  if (req.url === '/ready') return gateWithGuard.handler(req, res);
  if (req.url === '/debug/pool') {
    res.setHeader('content-type', 'application/json');
    return void res.end(JSON.stringify(pool.stats()));
  }
  if (req.url === '/metrics') {
    // A scrape reads the cgroup files; one failed read must cost a 500, not the process.
    registry.metrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (err: unknown) => fail(req, res, err),
    );
    return;
  }
  if (req.url === '/work') {
    work(res).catch((err: unknown) => fail(req, res, err));
    return;
  }
  if (req.url === '/thumbnail' && req.method === 'POST') {
    thumbnail(req, res).catch((err: unknown) => fail(req, res, err));
    return;
  }
  res.statusCode = 404;
  res.end();
});
server.on('close', () => {
  const s = pool.stats();
  console.log(`closed: pool in use ${s.inUseBytes} B, ${s.waiting} waiting`);
  guard.close();
  pool.close();
});
// Rolling updates send SIGTERM: drain the same way.
process.once('SIGTERM', () => void drain('SIGTERM'));

server.listen(selfTest ? 0 : Number(process.env.PORT ?? 8080));
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
console.log(`listening on ${port}`);

if (selfTest) {
  const call = async (p: string, init?: RequestInit) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, init);
    return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
  };
  const get = (p: string) => call(p);
  const ready = await get('/ready');
  const job = await get('/work');
  // Rounds of concurrent requests: each overlaps writes, reads and removals of different files.
  const CONCURRENT = 32;
  const ROUNDS = 4;
  let concurrentOk = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const jobs = await Promise.all(Array.from({ length: CONCURRENT }, () => get('/work')));
    concurrentOk += jobs.filter((j) => j.status === 200).length;
  }
  const photo = await sharp({
    create: { width: 800, height: 600, channels: 3, background: '#3a7' },
  })
    .jpeg()
    .toBuffer();
  const thumb = await call('/thumbnail', { method: 'POST', body: photo });
  const notImage = await call('/thumbnail', { method: 'POST', body: 'not an image' });
  await guard.sample();
  const metrics = await get('/metrics');
  const ws = /^slabio_memory_working_set_bytes (\d+)/m.exec(metrics.body)?.[1];
  const inUse = (JSON.parse((await get('/debug/pool')).body) as { inUseBytes: number }).inUseBytes;
  console.log(`/ready ${ready.status}, /work ${job.body.trim()}, working set ${ws} bytes`);
  console.log(
    `${concurrentOk} of ${ROUNDS} × ${CONCURRENT} concurrent /work requests answered 200`,
  );
  console.log(
    `/thumbnail ${thumb.status} ${thumb.type}, non-image ${notImage.status}, pool in use ${inUse} B`,
  );
  if (ready.status !== 200 || job.status !== 200 || ws === undefined) process.exit(1);
  if (concurrentOk !== ROUNDS * CONCURRENT) process.exit(1);
  if (thumb.status !== 200 || thumb.type !== 'image/webp' || notImage.status !== 415) {
    process.exit(1);
  }
  process.kill(process.pid, 'SIGTERM'); // drains and exits 0
}
