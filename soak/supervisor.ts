/**
 * Runs the service as kubelet would: starts it in the soak's memory cgroup, probes `/ready`,
 * takes it out of the endpoint while it is unready, restarts it when it exits (after a short
 * backoff), and drains it with SIGTERM when asked. Counts restarts and keeps a record per
 * instance.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnInCgroup } from '../lab/run.js';
import type { DrainWindow } from './stats.js';

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** The service's entry file. */
  script: string;
  port: number;
  /** The cgroup every instance runs in, `null` to run unconstrained. */
  cgroup: { procsFile: string } | null;
  /** Environment on top of this process's. */
  env: Record<string, string | undefined>;
  /** `performance.now()` at the soak's start: every time recorded is relative to it. */
  t0: number;
  /** Readiness probe period, ms. @default 250 */
  probeMs?: number;
  /** Pause before a restart, ms. @default 500 */
  backoffMs?: number;
  /** Called with each line the supervisor wants shown. */
  log?: (line: string) => void;
}

/** One run of the service process. Times are ms since the soak started. */
export interface Instance {
  id: number;
  pid: number;
  startedMs: number;
  /** First time `/ready` answered 200; `null` if it never did. */
  readyMs: number | null;
  exitedMs: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  /** Open descriptors (`/proc/<pid>/fd`) when it first became ready. */
  fdsAtReady: number | null;
  /** The service's own event-loop delay since its start, from its last `/metrics`, ms. */
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  /** What the service printed when its server closed (pool in use, waiters). */
  closeLine: string | null;
  /** Last lines of stderr. */
  stderrTail: string;
}

/** Count the entries of `/proc/<pid>/fd`; `null` once the process is gone. */
export async function countFds(pid: number): Promise<number | null> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return null;
  }
}

/** GET `path` on a fresh connection; the status and body, or `null` on any failure. */
export function get(
  port: number,
  path: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** The service's event-loop delay gauges from a `/metrics` text, in ms. */
export function parseEventLoop(text: string): Instance['eventLoop'] {
  const q = (quantile: string): number | null => {
    const m = new RegExp(
      `^nodejs_eventloop_delay_since_start_seconds\\{quantile="${quantile.replace('.', '\\.')}"\\} (\\S+)$`,
      'm',
    ).exec(text);
    return m === null ? null : Number(m[1]) * 1000;
  };
  const [p50, p99, max] = [q('0.5'), q('0.99'), q('1')];
  return p50 === null || p99 === null || max === null
    ? null
    : { p50Ms: p50, p99Ms: p99, maxMs: max };
}

/** See the module comment. */
export class Supervisor {
  readonly #o: Required<SupervisorOptions>;
  readonly instances: Instance[] = [];
  readonly drains: DrainWindow[] = [];
  /** What the service logged per request (`request <id>: <what>`), by `x-request-id`. */
  readonly serviceLog = new Map<number, string>();
  #child: ChildProcess | null = null;
  #current: Instance | null = null;
  #ready = false;
  #stopping = false;
  #waiters: Array<(i: Instance | null) => void> = [];
  #exited: Promise<void> = Promise.resolve();
  readonly #exits = new Map<number, Promise<void>>();
  #loop: Promise<void> | null = null;

  constructor(options: SupervisorOptions) {
    this.#o = { probeMs: 250, backoffMs: 500, log: () => {}, ...options };
  }

  #now(): number {
    return Math.round(performance.now() - this.#o.t0);
  }

  /** The instance running now (ready or not), `null` between a exit and the restart. */
  get current(): Instance | null {
    return this.#current;
  }

  /** Restarts so far (exits that were followed by a new instance). */
  get restarts(): number {
    return Math.max(0, this.instances.length - 1);
  }

  /** Start the first instance and the probe loop. */
  start(): void {
    this.#spawn();
    this.#loop = this.#probeLoop();
  }

  /** The ready instance, once there is one; `null` when the supervisor is stopping. */
  whenReady(): Promise<Instance | null> {
    if (this.#stopping) return Promise.resolve(null);
    if (this.#ready && this.#current !== null) return Promise.resolve(this.#current);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Whether the endpoint has a ready instance now. */
  get ready(): boolean {
    return this.#ready && this.#current !== null;
  }

  /** SIGTERM the current instance (a rolling update); it drains, exits and is restarted. */
  drain(): boolean {
    const inst = this.#current;
    if (this.#child === null || inst === null || inst.exitedMs !== null) return false;
    this.drains.push({ instance: inst.id, signalledMs: this.#now(), exitedMs: null });
    this.#o.log(`drain: SIGTERM to instance ${inst.id} (pid ${inst.pid})`);
    this.#child.kill('SIGTERM');
    return true;
  }

  /** Stop restarting, drain the current instance and wait for it (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.#stopping = true;
    this.#setReady(false);
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await this.#exited;
      clearTimeout(killer);
    }
    await this.#loop;
    for (const w of this.#waiters.splice(0)) w(null);
  }

  /** Kill the current instance at once (signal handlers). */
  kill(): void {
    this.#stopping = true;
    this.#child?.kill('SIGKILL');
  }

  #setReady(ready: boolean): void {
    this.#ready = ready;
    if (ready && this.#current !== null) {
      const inst = this.#current;
      for (const w of this.#waiters.splice(0)) w(inst);
    }
  }

  #spawn(): void {
    const child = spawnInCgroup([this.#o.script], this.#o.cgroup, {
      ...this.#o.env,
      PORT: String(this.#o.port),
    });
    const inst: Instance = {
      id: this.instances.length + 1,
      pid: child.pid ?? 0,
      startedMs: this.#now(),
      readyMs: null,
      exitedMs: null,
      exitCode: null,
      exitSignal: null,
      fdsAtReady: null,
      eventLoop: null,
      closeLine: null,
      stderrTail: '',
    };
    this.instances.push(inst);
    this.#child = child;
    this.#current = inst;
    this.#o.log(`instance ${inst.id} started (pid ${inst.pid})`);
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const req = /^request (\d+): (.*)$/.exec(line);
        if (req !== null) this.serviceLog.set(Number(req[1]), req[2] as string);
        if (line.startsWith('closed:')) inst.closeLine = line;
        if (line.startsWith('draining:') || line.startsWith('soft threshold')) {
          this.#o.log(`instance ${inst.id}: ${line}`);
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      inst.stderrTail = (inst.stderrTail + d).slice(-4096);
    });
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        inst.exitedMs = this.#now();
        inst.exitCode = code;
        inst.exitSignal = signal;
        for (const d of this.drains) if (d.instance === inst.id) d.exitedMs = inst.exitedMs;
        if (this.#current === inst) this.#setReady(false);
        this.#o.log(`instance ${inst.id} exited (${signal ?? code}) at ${inst.exitedMs} ms`);
        resolve();
        if (!this.#stopping) {
          void sleep(this.#o.backoffMs).then(() => {
            if (!this.#stopping) this.#spawn();
          });
        }
      });
    });
    this.#exits.set(inst.id, this.#exited);
  }

  /** Resolves `true` once `inst` has exited, `false` if it is still running after `timeoutMs`. */
  async waitExit(inst: Instance, timeoutMs: number): Promise<boolean> {
    const stop = new AbortController();
    const exited = this.#exits.get(inst.id) ?? Promise.resolve();
    const done = await Promise.race([
      exited.then(() => true),
      sleep(timeoutMs, false, { signal: stop.signal }).catch(() => false),
    ]);
    stop.abort();
    return done;
  }

  // One probe per period; /metrics every 8th period for the event-loop delay.
  async #probeLoop(): Promise<void> {
    for (let tick = 0; !this.#stopping; tick++) {
      const inst = this.#current;
      if (inst !== null && inst.exitedMs === null) {
        const r = await get(this.#o.port, '/ready', 1000);
        const ok = r?.status === 200 && this.#current === inst && inst.exitedMs === null;
        if (ok && inst.readyMs === null) {
          inst.readyMs = this.#now();
          inst.fdsAtReady = await countFds(inst.pid);
          this.#o.log(`instance ${inst.id} ready at ${inst.readyMs} ms`);
        }
        if (ok !== this.#ready && !this.#stopping) this.#setReady(ok);
        if (tick % 8 === 0 && inst.readyMs !== null) await this.scrape(inst);
      }
      await sleep(this.#o.probeMs);
    }
  }

  /** Read the instance's `/metrics` now and keep its event-loop delay. */
  async scrape(inst: Instance): Promise<void> {
    const m = await get(this.#o.port, '/metrics', 2000);
    const loop = m?.status === 200 ? parseEventLoop(m.body) : null;
    if (loop !== null && inst.exitedMs === null && this.#current === inst) inst.eventLoop = loop;
  }
}
