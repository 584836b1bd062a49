/**
 * The soak's arithmetic: percentiles, least-squares slope and the per-kind summary of request
 * outcomes. Pure functions, unit-tested in test/soak.test.ts.
 *
 * @module
 */
import type { Outcome, OutcomeClass } from './types.js';

/**
 * The `p`-th percentile (0…100) of `values` by the nearest-rank method: the smallest value with at
 * least `p`% of the values at or below it. So p99 of 100 values is the 99th smallest, and every
 * result is a value that was measured. `NaN` for no values.
 * @throws {RangeError} for `p` outside 0…100.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`p must be in [0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/**
 * Slope of the least-squares line through `(x, y)` points, in y units per x unit. `NaN` for fewer
 * than two points or when every x is the same.
 */
export function leastSquaresSlope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/**
 * Trend of a byte series in bytes per minute over the window `[fromMs, toMs]` (inclusive), by
 * least squares; `NaN` when the window holds fewer than two samples.
 */
export function trendPerMinute(
  samples: ReadonlyArray<{ t: number; bytes: number }>,
  fromMs: number,
  toMs: number,
): number {
  const points = samples
    .filter((s) => s.t >= fromMs && s.t <= toMs)
    .map((s) => ({ x: s.t / 60_000, y: s.bytes }));
  return leastSquaresSlope(points);
}

/** What the soak reports for one kind of client (or for all of them). */
export interface KindSummary {
  /** Requests that ended (every request ends: answered, failed or past its deadline). */
  requests: number;
  /** Full responses by status code. */
  byStatus: Record<string, number>;
  /** Requests that ended without a full response, by {@link OutcomeClass}. */
  byFailure: Partial<Record<Exclude<OutcomeClass, 'response'>, number>>;
  /** The failures' errors (errno code or short text) with their counts. */
  errors: Record<string, number>;
  /** Nearest-rank percentiles of the time to a full response, ms (`null` without one). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** Summarise outcomes: counts by status and failure, latency percentiles of full responses. */
export function summarize(outcomes: readonly Outcome[]): KindSummary {
  const byStatus: Record<string, number> = {};
  const byFailure: KindSummary['byFailure'] = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  for (const o of outcomes) {
    if (o.error !== undefined) errors[o.error] = (errors[o.error] ?? 0) + 1;
    if (o.outcome === 'response') {
      const key = String(o.status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      latencies.push(o.endMs - o.startMs);
    } else {
      byFailure[o.outcome] = (byFailure[o.outcome] ?? 0) + 1;
    }
  }
  const pick = (p: number): number | null =>
    latencies.length === 0 ? null : Math.round(percentile(latencies, p));
  return {
    requests: outcomes.length,
    byStatus,
    byFailure,
    errors,
    p50Ms: pick(50),
    p99Ms: pick(99),
    maxMs: latencies.length === 0 ? null : Math.round(Math.max(...latencies)),
  };
}

/** A drain: when the supervisor signalled the instance, and when the instance exited. */
export interface DrainWindow {
  instance: number;
  signalledMs: number;
  /** When the instance exited; `null` if it never did during the run. */
  exitedMs: number | null;
}

/**
 * Requests dropped by a drain: sent to the draining instance, still in flight when it was
 * signalled (or sent after), and ended without a full response for a reason that is not the
 * client's own doing (a planned reset does not count; a deadline miss does) nor explained by the
 * service's log (`answer-lost`, `service-reset`: those happen with or without a drain).
 */
export function droppedAtDrains(
  outcomes: readonly Outcome[],
  drains: readonly DrainWindow[],
): Outcome[] {
  return outcomes.filter(
    (o) =>
      (o.outcome === 'conn-error' || o.outcome === 'deadline') &&
      drains.some((d) => o.instance === d.instance && o.endMs >= d.signalledMs),
  );
}

/** What the service logged about one request: `<status> <code>` or `unanswered <code>`. */
export type ServiceLog = ReadonlyMap<number, string>;

/**
 * Explain connection errors with the service's log: a request it answered becomes `answer-lost`
 * (with the status it sent), one it gave up on `service-reset` (with the code it logged). Other
 * outcomes are returned as they are.
 */
export function attribute(outcomes: readonly Outcome[], log: ServiceLog): Outcome[] {
  return outcomes.map((o) => {
    const line = log.get(o.id);
    if (o.outcome !== 'conn-error' || line === undefined) return o;
    const [what, code] = line.split(' ');
    if (what === 'unanswered') return { ...o, outcome: 'service-reset', error: code ?? 'unknown' };
    const status = Number(what);
    if (!Number.isInteger(status)) return o;
    return { ...o, outcome: 'answer-lost', status, error: `${o.error ?? 'reset'} after ${status}` };
  });
}
