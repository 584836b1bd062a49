/**
 * Entry point of a job process: `node dist/lab/child.js <naive|slabio> <spec-json>`. The parent
 * has already placed this process in the run's cgroup (it joined before `exec`, so every byte it
 * allocates is charged there). Talks to the parent over IPC: `ready` once the job's modules are
 * loaded, waits for `start`, reports `progress` and `done`, then stays alive until `exit` so the
 * parent can read the working set the job left behind.
 *
 * @module
 */
import { once } from 'node:events';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { ChildMessage, JobSpec, ParentMessage, Variant } from './types.js';

/** What both job modules export. */
export interface JobModule {
  /** Run the whole batch; call `onItem` once per finished item. Resolves with the item count. */
  runJob(spec: JobSpec, onItem: () => void): Promise<number>;
}

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

async function nextMessage(type: ParentMessage['type']): Promise<void> {
  for (;;) {
    const [msg] = (await once(process, 'message')) as [ParentMessage];
    if (msg.type === type) return;
  }
}

async function main(): Promise<void> {
  const variant = process.argv[2] as Variant;
  const spec = JSON.parse(process.argv[3] ?? '{}') as JobSpec;
  if (process.send === undefined) throw new Error('child.js must be started by the lab with IPC');
  // The parent going away (Ctrl-C, crash) must not leave a job running in its cgroup.
  process.on('disconnect', () => process.exit(1));

  let gcCount = 0;
  let gcPauseMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcPauseMs += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  // Each variant loads only its own modules, so neither pays for the other's imports.
  const job = (await (variant === 'naive'
    ? import('./naive-job.js')
    : import('./slabio-job.js'))) as JobModule;
  send({ type: 'ready' });
  await nextMessage('start');

  let items = 0;
  let lastSent = 0;
  const onItem = (): void => {
    items++;
    const now = performance.now();
    if (now - lastSent >= 100) {
      lastSent = now;
      send({ type: 'progress', items, gcCount, gcPauseMs });
    }
  };
  // How long the job keeps the event loop from answering (a liveness probe, a request): sampled
  // every 10 ms. The histogram drops its first tick, so it ticks once before the job starts.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const t0 = performance.now();
  const total = await job.runJob(spec, onItem);
  const durationMs = performance.now() - t0;
  // A job that blocked the loop to its end left its last delay pending: let it be recorded.
  await new Promise((resolve) => setTimeout(resolve, 30));
  delay.disable();
  // GC entries are delivered asynchronously; let the last ones arrive before reporting.
  await new Promise((r) => setImmediate(r));
  send({
    type: 'done',
    items: total,
    durationMs,
    gcCount,
    gcPauseMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    loopDelayMaxMs: delay.max / 1e6,
  });
  await nextMessage('exit');
  observer.disconnect();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  // Give the IPC message a moment to leave before exiting.
  setTimeout(() => process.exit(1), 100);
});
