/**
 * What the lab prints and writes: the comparison table, `results.json` and the chart.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderChart } from './chart.js';
import type { RunResult, Variant } from './types.js';
import { MiB } from './types.js';

/** The smallest limit each variant completed under (`--find-limit`). */
export interface FindLimitResult {
  /** Smallest limit that completed, `null` if none up to the search's ceiling did. */
  naive: number | null;
  slabio: number | null;
  /** slabio ÷ naive. */
  ratio: number | null;
  /** Resolution of the search, bytes. */
  stepBytes: number;
  probes: Array<{
    variant: Variant;
    limitBytes: number;
    completed: boolean;
    failure: string | null;
  }>;
}

/** How the measured numbers compare with the lab's targets (see lab/README.md). */
export interface Targets {
  /** slabio's peak working set ≤ 1/3 of naive's. */
  peakAtMostThird: boolean;
  /** slabio's final working set ≤ 1.25 × its baseline + 8 MiB. */
  finalNearBaseline: boolean;
  /** slabio's items/s ≥ 0.9 × naive's. */
  throughputAtLeast09: boolean;
  /** With `--find-limit`: slabio's smallest limit ≤ 1/3 of naive's. */
  findLimitAtMostThird?: boolean;
}

/** Everything `results.json` holds. */
export interface LabResults {
  limitBytes: number;
  cgroup: 'v1' | 'v2' | null;
  /** Why the runs went without a cgroup, `null` when they had one. */
  cgroupNote: string | null;
  environment: Record<string, string | number>;
  options: Record<string, string | number | boolean>;
  inputs: { items: number; zipBytes: number; imageBytes: number; width: number; height: number };
  runs: { naive: RunResult; slabio: RunResult };
  ratios: { peakWorkingSet: number; finalWorkingSet: number; throughput: number; peakRss: number };
  targets: Targets;
  findLimit?: FindLimitResult;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

/** Ratios slabio ÷ naive and the lab's targets. */
export function compare(
  naive: RunResult,
  slabio: RunResult,
): { ratios: LabResults['ratios']; targets: Targets } {
  const ratios = {
    peakWorkingSet: ratio(slabio.peakWorkingSetBytes, naive.peakWorkingSetBytes),
    finalWorkingSet: ratio(slabio.finalWorkingSetBytes, naive.finalWorkingSetBytes),
    throughput: ratio(slabio.itemsPerSec, naive.itemsPerSec),
    peakRss: ratio(slabio.peakRssBytes, naive.peakRssBytes),
  };
  return {
    ratios,
    targets: {
      peakAtMostThird: slabio.completed && ratios.peakWorkingSet <= 1 / 3,
      finalNearBaseline:
        slabio.completed &&
        slabio.finalWorkingSetBytes <= slabio.baselineWorkingSetBytes * 1.25 + 8 * MiB,
      // A naive run that was killed has no throughput to match.
      throughputAtLeast09: slabio.completed && (!naive.completed || ratios.throughput >= 0.9),
    },
  };
}

const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;

function row(r: RunResult): string[] {
  return [
    r.variant,
    r.completed ? 'yes' : `no (${r.failure ?? 'failed'})`,
    `${(r.durationMs / 1000).toFixed(1)} s`,
    r.completed ? r.itemsPerSec.toFixed(1) : '-',
    mib(r.baselineWorkingSetBytes),
    mib(r.peakWorkingSetBytes),
    mib(r.finalWorkingSetBytes),
    mib(r.peakRssBytes),
    mib(r.pageCacheLeftBytes),
    String(r.gcCount),
    `${r.gcPauseMs.toFixed(0)} ms`,
    r.loopDelayP99Ms === null ? '-' : `${r.loopDelayP99Ms.toFixed(0)} ms`,
    r.loopDelayMaxMs === null ? '-' : `${r.loopDelayMaxMs.toFixed(0)} ms`,
    r.oomKilled ? '1' : '0',
  ];
}

/** Rows as aligned plain-text columns: the first left-aligned, the others right-aligned. */
export function align(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))))
    .map((r) => r.join('  '))
    .join('\n');
}

/** The comparison table as plain text (and the same rows as a Markdown table for docs). */
export function formatTable(res: LabResults, markdown = false): string {
  const { naive, slabio } = res.runs;
  const x = (v: number) => `${v.toFixed(2)}x`;
  const head = [
    'variant',
    'completed',
    'duration',
    'items/s',
    'baseline WS',
    'peak WS',
    'final WS',
    'peak RSS',
    'cache left',
    'GCs',
    'GC pause',
    'loop delay p99',
    'loop delay max',
    'OOM kills',
  ];
  const ratioRow = [
    'slabio / naive',
    '',
    x(ratio(slabio.durationMs, naive.durationMs)),
    x(res.ratios.throughput),
    x(ratio(slabio.baselineWorkingSetBytes, naive.baselineWorkingSetBytes)),
    x(res.ratios.peakWorkingSet),
    x(res.ratios.finalWorkingSet),
    x(res.ratios.peakRss),
    x(ratio(slabio.pageCacheLeftBytes, naive.pageCacheLeftBytes)),
    x(ratio(slabio.gcCount, naive.gcCount)),
    x(ratio(slabio.gcPauseMs, naive.gcPauseMs)),
    x(ratio(slabio.loopDelayP99Ms ?? 0, naive.loopDelayP99Ms ?? 0)),
    x(ratio(slabio.loopDelayMaxMs ?? 0, naive.loopDelayMaxMs ?? 0)),
    '',
  ];
  const rows = [head, row(naive), row(slabio), ratioRow];
  if (markdown) {
    const md = (r: string[]) => `| ${r.join(' | ')} |`;
    return [md(head), md(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.slice(1).map(md)]
      .join('\n')
      .concat('\n');
  }
  return `${align(rows)}\n`;
}

/** Human summary: the table, the targets and where the files went. */
export function formatReport(res: LabResults, outDir: string): string {
  const lines: string[] = [];
  const where =
    res.cgroup === null
      ? `no cgroup (${res.cgroupNote ?? 'unavailable'}): unconstrained, working set = RSS + cache of the run's files`
      : `cgroup ${res.cgroup}, limit ${mib(res.limitBytes)}`;
  lines.push(
    `slabio container lab: ${res.inputs.items} photos (${mib(res.inputs.zipBytes)} zip), ${where}`,
    `naive zip: ${String(res.options.naiveZip)}, both jobs with ${String(res.options.jobEnv)}`,
    '',
    formatTable(res),
  );
  const t = res.targets;
  const mark = (ok: boolean) => (ok ? 'met   ' : 'MISSED');
  lines.push(
    `${mark(t.peakAtMostThird)} slabio peak working set <= 1/3 of naive (${res.ratios.peakWorkingSet.toFixed(2)})`,
    `${mark(t.finalNearBaseline)} slabio final working set near its baseline (${mib(res.runs.slabio.finalWorkingSetBytes)} vs ${mib(res.runs.slabio.baselineWorkingSetBytes)})`,
    `${mark(t.throughputAtLeast09)} slabio throughput >= 0.9x naive (${res.ratios.throughput.toFixed(2)}x)`,
  );
  const f = res.findLimit;
  if (f !== undefined) {
    const l = (b: number | null) => (b === null ? 'none found' : mib(b));
    lines.push(
      `${mark(t.findLimitAtMostThird === true)} smallest limit: naive ${l(f.naive)}, slabio ${l(f.slabio)} (ratio ${f.ratio?.toFixed(2) ?? '-'}, step ${mib(f.stepBytes)})`,
    );
  }
  lines.push(
    '',
    `wrote ${path.join(outDir, 'results.json')} and ${path.join(outDir, 'chart.svg')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Write `results.json` and `chart.svg` into `outDir`. */
export async function writeResults(res: LabResults, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
  const where = res.cgroup === null ? 'no cgroup' : `cgroup ${res.cgroup}`;
  const svg = renderChart({
    title: `Working set, same job (naive zip: ${String(res.options.naiveZip)}), ${where}${res.cgroup === null ? '' : `, limit ${mib(res.limitBytes)}`}`,
    limitBytes: res.cgroup === null ? null : res.limitBytes,
    runs: [res.runs.naive, res.runs.slabio],
  });
  await writeFile(path.join(outDir, 'chart.svg'), svg);
}
