/**
 * From what a run recorded to the figures the soak reports, and the musts it checks.
 *
 * @module
 */
import type { Sample } from '../lab/types.js';
import type { Must, SoakResults } from './report.js';
import {
  attribute,
  type DrainWindow,
  droppedAtDrains,
  type ServiceLog,
  summarize,
  trendPerMinute,
} from './stats.js';
import type { Instance } from './supervisor.js';
import { KINDS, type Kind, type Outcome } from './types.js';

/**
 * Descriptors the service may hold more after the run than before it, for ones opened lazily on
 * first use (libvips, libuv). Measured on the reference machine: 21 before and 21 after a default
 * run, 22 and 21 with a large pool. A descriptor leaked per request grows the count by hundreds.
 */
export const FD_ALLOWANCE = 4;

/** The shortest window a trend is computed over, ms; shorter ones report none (`NaN`). */
export const MIN_TREND_MS = 10_000;

/** The pool's `stats()` as `/debug/pool` returns it (the fields the soak reads). */
export interface PoolSnapshot {
  maxBytes: number;
  inUseBytes: number;
  highWaterBytes: number;
  waiting: number;
  waits: number;
  oversizeBytes: number;
  classes: Array<{ size: number; inUseBytes: number }>;
}

/** What {@link buildResults} needs from the run. */
export interface RunRecord {
  environment: SoakResults['environment'];
  options: SoakResults['options'];
  cgroup: SoakResults['cgroup'];
  cgroupNote: string | null;
  inputs: SoakResults['inputs'];
  load: SoakResults['load'];
  /** How many drains were planned. */
  drainsPlanned: number;
  outcomes: Outcome[];
  /** The service's log per request id (the supervisor's `serviceLog`). */
  serviceLog: ServiceLog;
  drains: DrainWindow[];
  instances: Instance[];
  pool: PoolSnapshot | null;
  fdsBefore: number | null;
  fdsAfter: number | null;
  /** Why there is no count after, when the reason is a planned drain (the must is skipped). */
  fdsNote: string | null;
  tempFilesLeft: number;
  samples: readonly Sample[];
}

/**
 * Leases a pool snapshot shows: leased blocks per class, plus at least one when oversize buffers
 * are live, and at least one whenever bytes are in use (a snapshot without per-class figures).
 */
export function leasesOf(p: PoolSnapshot): number {
  let n = 0;
  for (const c of p.classes) n += Math.round(c.inUseBytes / c.size);
  if (p.oversizeBytes > 0) n++;
  return p.inUseBytes > 0 ? Math.max(1, n) : n;
}

/**
 * The pool as the service printed it when its server closed (`closed: pool in use N B, M
 * waiting`), for an instance that exited before it could be asked; `null` without that line.
 */
export function poolFromCloseLine(line: string | null): PoolSnapshot | null {
  const m = /^closed: pool in use (\d+) B, (\d+) waiting/.exec(line ?? '');
  if (m === null) return null;
  return {
    maxBytes: 0,
    inUseBytes: Number(m[1]),
    highWaterBytes: 0,
    waiting: Number(m[2]),
    waits: 0,
    oversizeBytes: 0,
    classes: [],
  };
}

/**
 * The trend window: the second half of the load, starting later if an instance became ready in
 * it (a fresh process fills its heap and pool first, which is no trend of the service).
 */
export function trendWindow(r: Pick<RunRecord, 'load' | 'instances'>): [number, number] {
  const { startMs, sendUntilMs } = r.load;
  const half = startMs + (sendUntilMs - startMs) / 2;
  let from = half;
  for (const i of r.instances) {
    if (i.readyMs !== null && i.readyMs > half && i.readyMs < sendUntilMs) from = i.readyMs + 5000;
  }
  return [Math.round(Math.min(from, sendUntilMs)), sendUntilMs];
}

/** Compute every figure and check the musts. */
export function buildResults(r: RunRecord): SoakResults {
  const outcomes = attribute(r.outcomes, r.serviceLog);
  const kinds: SoakResults['kinds'] = {};
  for (const kind of KINDS) {
    const mine = outcomes.filter((o) => o.kind === kind);
    if (mine.length > 0) kinds[kind as Kind] = summarize(mine);
  }
  const unanswered = outcomes.filter((o) => o.outcome === 'deadline').length;
  const dropped = droppedAtDrains(outcomes, r.drains);
  const window = trendWindow(r);
  // A few seconds of bursty load give a slope of noise, not a trend.
  const trend = (series: Array<{ t: number; bytes: number }>): number =>
    window[1] - window[0] < MIN_TREND_MS
      ? Number.NaN
      : trendPerMinute(series, window[0], window[1]);
  const ws = r.samples.map((s) => ({ t: s.t, bytes: s.workingSet }));
  const rss = r.samples.map((s) => ({ t: s.t, bytes: s.rss }));
  const loops = r.instances.map((i) => i.eventLoop?.p99Ms).filter((v) => v !== undefined);
  const poolAtEnd =
    r.pool === null
      ? null
      : {
          inUseBytes: r.pool.inUseBytes,
          leases: leasesOf(r.pool),
          waiting: r.pool.waiting,
          waits: r.pool.waits,
          highWaterBytes: r.pool.highWaterBytes,
          maxBytes: r.pool.maxBytes,
        };
  const fdGrowth =
    r.fdsBefore === null || r.fdsAfter === null
      ? Number.POSITIVE_INFINITY
      : r.fdsAfter - r.fdsBefore;
  const must = (name: string, value: number, allowed: number, skipped?: string | null): Must =>
    skipped == null
      ? { name, value, allowed, ok: value <= allowed }
      : { name, value, allowed, ok: true, skipped };
  const musts = [
    must('unanswered', unanswered, 0),
    must('dropped at drain', dropped.length, 0),
    must(
      'leases at end',
      poolAtEnd === null
        ? Number.POSITIVE_INFINITY
        : poolAtEnd.leases + poolAtEnd.waiting + poolAtEnd.inUseBytes,
      0,
    ),
    must('fd growth', fdGrowth, FD_ALLOWANCE, r.fdsAfter === null ? r.fdsNote : null),
    // A soak whose drains never happened proves nothing about them.
    must('drains', r.drainsPlanned - r.drains.length, 0),
  ];
  const last = r.samples.at(-1);
  return {
    environment: r.environment,
    options: r.options,
    cgroup: r.cgroup,
    cgroupNote: r.cgroupNote,
    inputs: r.inputs,
    load: r.load,
    total: summarize(outcomes),
    kinds,
    unansweredPastDeadline: unanswered,
    droppedAtDrain: dropped,
    outcomes,
    drains: r.drains,
    restarts: Math.max(0, r.instances.length - 1),
    instances: r.instances,
    eventLoopP99Ms: loops.length === 0 ? null : Math.max(...(loops as number[])),
    poolAtEnd,
    fds: { before: r.fdsBefore, after: r.fdsAfter, allowance: FD_ALLOWANCE, note: r.fdsNote },
    tempFilesLeft: r.tempFilesLeft,
    memory: {
      peakWorkingSetBytes: Math.max(0, ...ws.map((s) => s.bytes)),
      finalWorkingSetBytes: last?.workingSet ?? 0,
      peakRssBytes: Math.max(0, ...rss.map((s) => s.bytes)),
      workingSetSlopePerMin: trend(ws),
      rssSlopePerMin: trend(rss),
      trendWindowMs: window,
    },
    musts,
    passed: musts.every((m) => m.ok),
    samples: [...r.samples],
  };
}
