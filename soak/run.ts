/**
 * One soak run: the service under the supervisor in a memory cgroup, load for the duration with
 * drains at set times, then the end-of-run readings once load stopped and in-flight work finished.
 *
 * @module
 */
import { mkdir, readdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type CgroupSupport,
  createCgroup,
  type LabCgroup,
  probeCgroupSupport,
} from '../lab/cgroup.js';
import type { Progress } from '../lab/progress.js';
import { Sampler } from '../lab/sampler.js';
import { makeSoakInputs } from './inputs.js';
import { LoadGenerator } from './load.js';
import type { SoakOptions } from './options.js';
import type { SoakResults } from './report.js';
import { buildResults, type PoolSnapshot, poolFromCloseLine } from './results.js';
import { countFds, get, type Instance, Supervisor } from './supervisor.js';
import { MiB } from './types.js';

const SERVICE = fileURLToPath(new URL('../examples/kubernetes/service.js', import.meta.url));
/** Longest wait for an instance to become ready (a cold start loads sharp). */
const READY_TIMEOUT_MS = 60_000;
/** Longest wait after load for the pool to empty and the descriptors to settle. */
const SETTLE_MS = 15_000;
/** Longest wait for an instance drained near the end: its grace plus its drain deadline. */
const DRAIN_WAIT_MS = 30_000;

/** What the signal handlers need to clean up while a run is going on. */
export const active: { supervisor: Supervisor | null; cgroup: LabCgroup | null } = {
  supervisor: null,
  cgroup: null,
};

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function poolStats(port: number): Promise<PoolSnapshot | null> {
  const r = await get(port, '/debug/pool');
  if (r?.status !== 200) return null;
  try {
    return JSON.parse(r.body) as PoolSnapshot;
  } catch {
    return null;
  }
}

/** Wait until the pool is empty with nobody queued (in-flight work finished), or the time is up. */
async function settledPool(port: number, untilMs: number): Promise<PoolSnapshot | null> {
  let last: PoolSnapshot | null = null;
  do {
    last = (await poolStats(port)) ?? last;
    if (last !== null && last.inUseBytes === 0 && last.waiting === 0) return last;
    await sleep(200);
  } while (performance.now() < untilMs);
  return last;
}

/** Wait until the descriptor count is back at `target` or has not changed for a second. */
async function settledFds(
  pid: number,
  target: number | null,
  untilMs: number,
): Promise<number | null> {
  let last = await countFds(pid);
  let sameSince = performance.now();
  while (performance.now() < untilMs && last !== null && (target === null || last > target)) {
    await sleep(100);
    const now = await countFds(pid);
    if (now !== last) sameSince = performance.now();
    else if (performance.now() - sameSince >= 1000) break;
    last = now;
  }
  return last;
}

/** The memory cgroup for the service, or why there is none. */
async function serviceCgroup(
  o: SoakOptions,
): Promise<{ cg: LabCgroup | null; note: string | null }> {
  const support: CgroupSupport = await probeCgroupSupport({ leafName: `${o.cgroupPrefix}-leaf` });
  if (!support.ok) return { cg: null, note: support.reason };
  const made = await createCgroup(support, `${o.cgroupPrefix}-service`, o.limitMiB * MiB);
  if (typeof made === 'string') return { cg: null, note: made };
  active.cgroup = made;
  return { cg: made, note: null };
}

/** Wait for the first ready instance, or throw after {@link READY_TIMEOUT_MS}. */
async function firstReady(sup: Supervisor): Promise<Instance> {
  const stop = new AbortController();
  const first = await Promise.race([
    sup.whenReady(),
    sleep(READY_TIMEOUT_MS, null, { signal: stop.signal }).catch(() => null),
  ]);
  stop.abort();
  if (first === null) throw new Error(`the service was not ready in ${READY_TIMEOUT_MS / 1000} s`);
  return first;
}

/** Drive the load for the duration, with the drains and the progress line. */
async function drive(
  o: SoakOptions,
  load: LoadGenerator,
  sup: Supervisor,
  sampler: Sampler,
  progress: Progress,
): Promise<void> {
  const started = performance.now();
  const timers = o.drainAtS.map((s) => setTimeout(() => sup.drain(), s * 1000));
  const ticker = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    const ws = sampler.last?.workingSet ?? 0;
    progress.show(
      t / o.durationS,
      `${t.toFixed(0)}/${o.durationS} s  ${load.outcomes.length} done, ${load.inFlight} in flight  WS ${Math.round(ws / MiB)} MiB  restarts ${sup.restarts}`,
    );
  }, 250);
  try {
    await load.run();
  } finally {
    clearInterval(ticker);
    for (const t of timers) clearTimeout(t);
    progress.end();
  }
}

/** The end-of-run readings; see {@link runSoak}. */
interface EndReadings {
  pool: PoolSnapshot | null;
  fdsAfter: number | null;
  fdsNote: string | null;
}

/**
 * Read the pool and the descriptors of the instance that served the end of the load, once
 * in-flight work finished. If it was drained, its pool as it printed it at close, and no fd count.
 */
async function endReadings(
  sup: Supervisor,
  port: number,
  fdsBefore: number | null,
): Promise<EndReadings> {
  const settleUntil = performance.now() + SETTLE_MS;
  const final = [...sup.instances].reverse().find((i) => i.readyMs !== null);
  if (final === undefined) return { pool: null, fdsAfter: null, fdsNote: null };
  const drained = sup.drains.some((d) => d.instance === final.id);
  if (drained) await sup.waitExit(final, DRAIN_WAIT_MS);
  let pool: PoolSnapshot | null = null;
  let fdsAfter: number | null = null;
  if (final.exitedMs === null) {
    pool = await settledPool(port, settleUntil);
    fdsAfter = await settledFds(final.pid, fdsBefore, settleUntil);
    await sup.scrape(final);
    if (final.exitedMs !== null) fdsAfter = null; // a gone process has an empty fd table
  }
  if (final.exitedMs !== null) pool = poolFromCloseLine(final.closeLine);
  const fdsNote =
    drained && fdsAfter === null
      ? `instance ${final.id} was drained at the end of the load: no descriptor count after it`
      : null;
  return { pool, fdsAfter, fdsNote };
}

/**
 * Run the soak; `say` prints a line. Throws only for what makes a run impossible; the service
 * and the sampler are stopped on every path out (the caller removes the cgroup).
 */
export async function runSoak(
  o: SoakOptions,
  workDir: string,
  progress: Progress,
  say: (line: string) => void,
): Promise<SoakResults> {
  say('making the inputs…');
  const inputs = await makeSoakInputs();
  const { cg, note } = await serviceCgroup(o);
  if (note !== null) say(`note: ${note}; running without a memory limit`);
  const tmp = path.join(workDir, 'tmp');
  await mkdir(tmp);
  const port = await freePort();
  const t0 = performance.now();
  const sup = new Supervisor({
    script: SERVICE,
    port,
    cgroup: cg,
    t0,
    env: {
      MALLOC_ARENA_MAX: '2',
      TMPDIR: tmp,
      POOL_MAX_BYTES: String(o.poolMiB * MiB),
      UPLOAD_MAX_BYTES: String(o.uploadMaxMiB * MiB),
    },
    log: say,
  });
  // Constructed with t0, so its sample times share the soak's clock.
  const sampler = new Sampler({
    cgroupDir: cg?.dir ?? null,
    pid: () => sup.current?.pid ?? 0,
    scanPaths: [tmp],
    intervalMs: 250,
  });
  active.supervisor = sup;
  sup.start();
  sampler.start();
  try {
    const first = await firstReady(sup);
    // Counted once the count holds still for a second (at most 3 s): a ready instance still opens
    // descriptors of its own for a moment (the guard's wake-up thread arms after its first cgroup
    // read), and a count taken before that made the growth look like a leak.
    const fdsBefore = await settledFds(first.pid, null, performance.now() + 3000);
    const load = new LoadGenerator({
      port,
      concurrency: o.concurrency,
      durationMs: o.durationS * 1000,
      deadlineMs: o.deadlineS * 1000,
      uploadMaxBytes: o.uploadMaxMiB * MiB,
      inputs,
      supervisor: sup,
      t0,
    });
    const startMs = Math.round(performance.now() - t0);
    say(
      `load: ${o.concurrency} clients (${load.slowLoops} slow) for ${o.durationS} s on port ${port}`,
    );
    await drive(o, load, sup, sampler, progress);
    const endMs = Math.round(performance.now() - t0);
    await load.close();
    say(`load done: ${load.outcomes.length} requests; waiting for in-flight work`);
    const end = await endReadings(sup, port, fdsBefore);
    await sampler.sampleNow();
    await sampler.stop();
    await sup.stop();
    active.supervisor = null;
    return buildResults({
      environment: {
        node: process.version,
        platform: `${process.platform} ${os.release()}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        date: new Date().toISOString(),
      },
      options: {
        quick: o.quick,
        durationS: o.durationS,
        concurrency: o.concurrency,
        deadlineS: o.deadlineS,
        poolMiB: o.poolMiB,
        uploadMaxMiB: o.uploadMaxMiB,
        drainAtS: o.drainAtS.join(','),
      },
      cgroup:
        cg === null ? null : { version: cg.version === 1 ? 'v1' : 'v2', limitBytes: cg.limitBytes },
      cgroupNote: note,
      inputs: {
        images: inputs.images.map((i) => ({
          format: i.format,
          width: i.width,
          bytes: i.bytes.length,
        })),
        tinyBytes: inputs.tiny.map((b) => b.length),
      },
      load: { startMs, sendUntilMs: startMs + o.durationS * 1000, endMs },
      drainsPlanned: o.drainAtS.length,
      outcomes: load.outcomes,
      serviceLog: sup.serviceLog,
      drains: sup.drains,
      instances: sup.instances,
      ...end,
      fdsBefore,
      tempFilesLeft: (await readdir(tmp)).length,
      samples: sampler.samples,
    });
  } finally {
    await sampler.stop();
    if (active.supervisor !== null) {
      sup.kill();
      active.supervisor = null;
    }
  }
}
