/**
 * What the soak prints and writes: the tables, the must-hold checks, `results.json`,
 * `chart.svg` and `table.txt`.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderLineChart } from '../lab/chart.js';
import { align } from '../lab/report.js';
import type { Sample } from '../lab/types.js';
import type { KindSummary } from './stats.js';
import type { Instance } from './supervisor.js';
import type { Kind, Outcome } from './types.js';
import { KINDS, MiB } from './types.js';

/** A figure that must hold for the soak to pass (the exit code is non-zero otherwise). */
export interface Must {
  name: string;
  value: number;
  /** The largest value that passes. */
  allowed: number;
  ok: boolean;
  /** Why it could not be checked in this run (it then counts as holding). */
  skipped?: string;
}

/** Everything `results.json` holds. */
export interface SoakResults {
  environment: Record<string, string | number>;
  options: Record<string, string | number | boolean>;
  cgroup: { version: 'v1' | 'v2'; limitBytes: number } | null;
  /** Why the service ran without a memory limit, `null` when it had one. */
  cgroupNote: string | null;
  inputs: { images: Array<{ format: string; width: number; bytes: number }>; tinyBytes: number[] };
  /**
   * When load ran, ms since the soak started: new requests were sent from `startMs` to
   * `sendUntilMs`, and the last one ended at `endMs`.
   */
  load: { startMs: number; sendUntilMs: number; endMs: number };
  total: KindSummary;
  kinds: Partial<Record<Kind, KindSummary>>;
  unansweredPastDeadline: number;
  droppedAtDrain: Outcome[];
  /** Every request, in the order they ended. */
  outcomes: Outcome[];
  drains: Array<{ instance: number; signalledMs: number; exitedMs: number | null }>;
  restarts: number;
  instances: Instance[];
  /** The highest since-start p99 any instance reported, ms. */
  eventLoopP99Ms: number | null;
  /** The final instance's pool after load stopped and in-flight work finished. */
  poolAtEnd: {
    inUseBytes: number;
    leases: number;
    waiting: number;
    waits: number;
    highWaterBytes: number;
    maxBytes: number;
  } | null;
  fds: { before: number | null; after: number | null; allowance: number; note: string | null };
  tempFilesLeft: number;
  memory: {
    peakWorkingSetBytes: number;
    finalWorkingSetBytes: number;
    peakRssBytes: number;
    /** Least-squares slope over `trendWindowMs`, bytes per minute. */
    workingSetSlopePerMin: number;
    rssSlopePerMin: number;
    trendWindowMs: [number, number];
  };
  musts: Must[];
  passed: boolean;
  samples: Sample[];
}

const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;
const slope = (b: number): string =>
  Number.isFinite(b) ? `${b >= 0 ? '+' : ''}${(b / MiB).toFixed(2)} MiB/min` : 'n/a';
const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);

function statusText(s: KindSummary): string {
  const parts = Object.entries(s.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`);
  for (const [k, v] of Object.entries(s.byFailure)) parts.push(`${k}:${v}`);
  return parts.join(' ');
}

/** The per-kind table: requests, outcomes, latency percentiles of full responses. */
export function formatKinds(res: SoakResults, markdown = false): string {
  const head = ['client kind', 'requests', 'outcomes (status:count)', 'p50', 'p99', 'max'];
  const rows = [head];
  for (const kind of KINDS) {
    const s = res.kinds[kind];
    if (s === undefined) continue;
    rows.push([kind, String(s.requests), statusText(s), ms(s.p50Ms), ms(s.p99Ms), ms(s.maxMs)]);
  }
  const t = res.total;
  rows.push(['all', String(t.requests), statusText(t), ms(t.p50Ms), ms(t.p99Ms), ms(t.maxMs)]);
  return markdown ? md(rows) : `${align(rows)}\n`;
}

/** The operator's figures: the musts, memory, restarts, event loop. */
export function formatFigures(res: SoakResults, markdown = false): string {
  const m = res.memory;
  const pool = res.poolAtEnd;
  const check = (name: string): string => {
    const must = res.musts.find((x) => x.name === name);
    if (must === undefined) return '';
    return must.skipped !== undefined ? 'skipped' : must.ok ? 'ok' : 'FAILED';
  };
  const rows = [
    ['figure', 'value', 'must'],
    ['unanswered past deadline', String(res.unansweredPastDeadline), check('unanswered')],
    ['dropped at drain', String(res.droppedAtDrain.length), check('dropped at drain')],
    [
      'leases in use at the end',
      pool === null ? 'unknown' : `${pool.leases} (${pool.inUseBytes} B, ${pool.waiting} waiting)`,
      check('leases at end'),
    ],
    [
      'fds before / after',
      `${res.fds.before ?? '-'} / ${res.fds.after ?? '-'} (allowance +${res.fds.allowance})`,
      check('fd growth'),
    ],
    ['drains / restarts', `${res.drains.length} / ${res.restarts}`, check('drains')],
    [
      'event-loop delay p99 (worst instance)',
      ms(res.eventLoopP99Ms === null ? null : Math.round(res.eventLoopP99Ms)),
      '',
    ],
    [
      'working set peak / final',
      `${mib(m.peakWorkingSetBytes)} / ${mib(m.finalWorkingSetBytes)}`,
      '',
    ],
    [
      `working-set trend (${(m.trendWindowMs[0] / 1000).toFixed(0)}-${(m.trendWindowMs[1] / 1000).toFixed(0)} s)`,
      slope(m.workingSetSlopePerMin),
      '',
    ],
    ['RSS peak / trend', `${mib(m.peakRssBytes)} / ${slope(m.rssSlopePerMin)}`, ''],
    [
      'pool waits / high water',
      pool === null ? '-' : `${pool.waits} / ${mib(pool.highWaterBytes)} of ${mib(pool.maxBytes)}`,
      '',
    ],
    ['temp files left', String(res.tempFilesLeft), ''],
  ];
  return markdown ? md(rows) : `${align(rows)}\n`;
}

function md(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)]
    .join('\n')
    .concat('\n');
}

/** The whole printed report. */
export function formatReport(res: SoakResults, outDir: string): string {
  const o = res.options;
  const where =
    res.cgroup === null
      ? `no cgroup (${res.cgroupNote ?? 'unavailable'}): unconstrained, working set = RSS + page cache of its temp files`
      : `cgroup ${res.cgroup.version}, limit ${mib(res.cgroup.limitBytes)}`;
  const lines = [
    `slabio soak: ${String(o.durationS)} s, ${String(o.concurrency)} clients, deadline ${String(o.deadlineS)} s, pool ${String(o.poolMiB)} MiB, uploads up to ${String(o.uploadMaxMiB)} MiB, ${where}`,
    '',
    formatKinds(res),
  ];
  const errorLines = KINDS.flatMap((kind) => {
    const errors = Object.entries(res.kinds[kind]?.errors ?? {});
    return errors.length === 0
      ? []
      : [`  ${kind} errors: ${errors.map(([e, n]) => `${e} ×${n}`).join(', ')}`];
  });
  if (errorLines.length > 0) lines.push(...errorLines, '');
  lines.push(formatFigures(res));
  for (const d of res.droppedAtDrain.slice(0, 10)) {
    lines.push(
      `dropped: ${d.kind} to instance ${d.instance} at ${d.startMs}-${d.endMs} ms: ${d.outcome} ${d.error ?? ''}`,
    );
  }
  for (const m of res.musts)
    if (m.skipped !== undefined) lines.push(`skipped ${m.name}: ${m.skipped}`);
  const failed = res.musts.filter((m) => !m.ok);
  lines.push(
    failed.length === 0
      ? 'PASSED: every must holds'
      : `FAILED: ${failed.map((m) => `${m.name} = ${m.value} (allowed ${m.allowed})`).join(', ')}`,
    `wrote ${path.join(outDir, 'results.json')}, chart.svg and table.txt`,
  );
  return `${lines.join('\n')}\n`;
}

/** Write `results.json`, `chart.svg` and `table.txt` (the printed report) into `outDir`. */
export async function writeResults(
  res: SoakResults,
  outDir: string,
  printed: string,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
  await writeFile(path.join(outDir, 'table.txt'), printed);
  const markers = [
    { t: res.memory.trendWindowMs[0], label: 'trend from here', color: '#777' },
    ...res.drains.map((d) => ({
      t: d.signalledMs,
      label: `SIGTERM #${d.instance}`,
      color: '#b26b00',
    })),
    ...res.instances
      .filter((i) => i.id > 1 && i.readyMs !== null)
      .map((i) => ({ t: i.readyMs as number, label: `ready #${i.id}`, color: '#2a8a3a' })),
  ];
  const where = res.cgroup === null ? 'no cgroup' : `cgroup ${res.cgroup.version}`;
  const svg = renderLineChart({
    title: `Soak: service memory under load, ${where}`,
    limitBytes: res.cgroup?.limitBytes ?? null,
    xLabel: 'seconds since the soak started',
    yLabel: 'MiB',
    markers,
    series: [
      {
        color: '#2f6fd6',
        points: res.samples.map((s) => ({ t: s.t, bytes: s.workingSet })),
        label: `working set: peak ${mib(res.memory.peakWorkingSetBytes)}, trend ${slope(res.memory.workingSetSlopePerMin)}`,
      },
      {
        color: '#d6452f',
        points: res.samples.map((s) => ({ t: s.t, bytes: s.rss })),
        label: `service RSS: peak ${mib(res.memory.peakRssBytes)}, trend ${slope(res.memory.rssSlopePerMin)}`,
        legendWidth: 380,
      },
    ],
  });
  await writeFile(path.join(outDir, 'chart.svg'), svg);
}
