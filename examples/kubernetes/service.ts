/**
 * A service that keeps itself under its container memory limit: the MemoryGuard trims the pool
 * and drops page cache at 80% of the limit, and at 92% fails readiness, drains and exits, so
 * Kubernetes restarts it cleanly instead of OOM-killing it mid-request.
 *
 * Run: `npm run build && node dist/examples/kubernetes/service.js` (PORT, default 8080), or with
 * `--self-test` to start on a free port, exercise every route (and /work concurrently), drain
 * and exit 0.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { BufferPool, drainAndExit, MemoryGuard, ReadinessGate, trackFile } from 'slabio';
import { registerSlabioMetrics } from 'slabio/prom';

const selfTest = process.argv.includes('--self-test');
const pool = new BufferPool({ maxBytes: 64 * 1024 * 1024 });
const registry = new Registry();
let server: http.Server;

const gate = new ReadinessGate();
const drain = (why: string) => {
  console.log(`draining: ${why}`);
  // graceMs: keep serving while the failed readiness probe takes the pod out of the Service.
  return drainAndExit(server, {
    readiness: gate,
    graceMs: selfTest ? 0 : 3000,
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

// /work stands for the field report's jobs: write a generated file, read it back, answer.
async function work(res: http.ServerResponse): Promise<void> {
  using lease = pool.acquire(256 * 1024);
  lease.buffer.fill(42);
  // One name per request: requests run concurrently, and a shared name lets one request read or
  // remove another's file (ENOENT).
  const file = path.join(os.tmpdir(), `slabio-example-${randomUUID()}.bin`);
  try {
    await writeFile(file, lease.buffer);
    trackFile(file); // the guard may drop its page cache under pressure
    const back = await readFile(file);
    res.end(`wrote and read ${back.length} bytes\n`);
  } finally {
    await rm(file, { force: true });
  }
}

/** Answer a failed request with 500 instead of leaving a rejection unhandled (that exits Node). */
function fail(res: http.ServerResponse, err: unknown): void {
  console.error(err);
  if (res.headersSent) return void res.destroy();
  res.statusCode = 500;
  res.end(`${(err as Error).message}\n`);
}

server = http.createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok\n');
  if (req.url === '/ready') return gateWithGuard.handler(req, res);
  if (req.url === '/metrics') {
    // A scrape reads the cgroup files; one failed read must cost a 500, not the process.
    registry.metrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (err: unknown) => fail(res, err),
    );
    return;
  }
  if (req.url === '/work') {
    work(res).catch((err: unknown) => fail(res, err));
    return;
  }
  res.statusCode = 404;
  res.end();
});
server.on('close', () => {
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
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: r.status, body: await r.text() };
  };
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
  await guard.sample();
  const metrics = await get('/metrics');
  const ws = /^slabio_memory_working_set_bytes (\d+)/m.exec(metrics.body)?.[1];
  console.log(`/ready ${ready.status}, /work ${job.body.trim()}, working set ${ws} bytes`);
  console.log(
    `${concurrentOk} of ${ROUNDS} × ${CONCURRENT} concurrent /work requests answered 200`,
  );
  if (ready.status !== 200 || job.status !== 200 || ws === undefined) process.exit(1);
  if (concurrentOk !== ROUNDS * CONCURRENT) process.exit(1);
  process.kill(process.pid, 'SIGTERM'); // drains and exits 0
}
