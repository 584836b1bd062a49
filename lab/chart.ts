/**
 * SVG line charts of memory over time with the limit drawn: the lab's (both runs' working set on
 * one axis) and a general one for other byte series (the soak's working set and RSS).
 * Hand-written SVG: no dependency, renders on GitHub and in any browser.
 *
 * @module
 */
import type { RunResult } from './types.js';
import { MiB } from './types.js';

const W = 860;
const H = 440;
// The legend sits in its own band under the title, so no curve or the limit line crosses it.
const PAD = { left: 70, right: 20, top: 62, bottom: 50 };
const COLORS: Record<string, string> = { naive: '#d6452f', slabio: '#2f6fd6' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round step that gives about `target` ticks over `span`. */
function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** One line of a {@link renderLineChart}. */
export interface ChartSeries {
  /** Stroke colour. */
  color: string;
  /** Points in time order: milliseconds on the x axis, bytes on the y axis. */
  points: ReadonlyArray<{ t: number; bytes: number }>;
  /** Legend text. */
  label: string;
  /** Written above the line's last point (e.g. "OOM-killed"), if any. */
  endNote?: string | undefined;
  /** Legend entry width in pixels. @default 330 */
  legendWidth?: number;
}

/** A vertical line at a moment of the run (a restart, a drain), labelled at its top. */
export interface ChartMarker {
  /** Milliseconds on the x axis. */
  t: number;
  label: string;
  color: string;
}

/** Options of {@link renderLineChart}. */
export interface LineChartOptions {
  title: string;
  /** Drawn as a dashed line, and the y axis reaches it; `null` for none. */
  limitBytes: number | null;
  series: ChartSeries[];
  markers?: ChartMarker[];
  /** @default 'seconds since the job process started' */
  xLabel?: string;
  /** @default 'working set, MiB' */
  yLabel?: string;
}

/** Render byte series over time as a standalone SVG document. */
export function renderLineChart(o: LineChartOptions): string {
  const maxT = Math.max(1, ...o.series.flatMap((r) => r.points.map((s) => s.t))) / 1000;
  const maxMiB =
    Math.max(
      o.limitBytes ?? 0,
      ...o.series.flatMap((r) => r.points.map((s) => s.bytes)),
      16 * MiB,
    ) /
    MiB /
    0.9;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (sec: number) => PAD.left + (sec / maxT) * plotW;
  const y = (mib: number) => PAD.top + plotH - (mib / maxMiB) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(o.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  );
  const yStep = niceStep(maxMiB, 6);
  for (let v = 0; v <= maxMiB; v += yStep) {
    out.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${PAD.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  const xStep = niceStep(maxT, 8);
  for (let t = 0; t <= maxT; t += xStep) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 5}" stroke="#555"/>`,
      `<text x="${x(t).toFixed(1)}" y="${PAD.top + plotH + 18}" text-anchor="middle">${Number(t.toFixed(2))}</text>`,
    );
  }
  out.push(
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#555"/>`,
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#555"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel ?? 'seconds since the job process started')}</text>`,
    `<text x="18" y="${PAD.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${PAD.top + plotH / 2})">${esc(o.yLabel ?? 'working set, MiB')}</text>`,
  );
  if (o.limitBytes !== null) {
    const ly = y(o.limitBytes / MiB).toFixed(1);
    out.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${ly}" y2="${ly}" stroke="#222" stroke-dasharray="6 4"/>`,
      `<text x="${W - PAD.right - 4}" y="${Number(ly) - 6}" text-anchor="end">limit ${Math.round(o.limitBytes / MiB)} MiB</text>`,
    );
  }
  // Labels of markers close together go on the next row down instead of over each other.
  const rowEnds: number[] = [];
  for (const m of [...(o.markers ?? [])].sort((a, b) => a.t - b.t)) {
    const mx = x(m.t / 1000);
    let row = rowEnds.findIndex((end) => mx + 3 > end);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = mx + 3 + m.label.length * 7 + 6; // ~7 px per character at 12 px
    out.push(
      `<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="${m.color}" stroke-dasharray="2 3"/>`,
      `<text x="${(mx + 3).toFixed(1)}" y="${PAD.top + 12 + 14 * row}" fill="${m.color}">${esc(m.label)}</text>`,
    );
  }
  let legendX = PAD.left + 12;
  for (const r of o.series) {
    const color = r.color;
    const pts = r.points
      .map((s) => `${x(s.t / 1000).toFixed(1)},${y(s.bytes / MiB).toFixed(1)}`)
      .join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    const end = r.points.at(-1);
    if (r.endNote !== undefined && end !== undefined) {
      out.push(
        `<text x="${x(end.t / 1000).toFixed(1)}" y="${(y(end.bytes / MiB) - 8).toFixed(1)}" text-anchor="middle" fill="${color}">${esc(r.endNote)}</text>`,
      );
    }
    const legendY = PAD.top - 14;
    out.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${legendX + 30}" y="${legendY}">${esc(r.label)}</text>`,
    );
    legendX += r.legendWidth ?? 330;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Options of {@link renderChart}. */
export interface ChartOptions {
  title: string;
  limitBytes: number | null;
  runs: RunResult[];
}

/** Render the lab's chart: the working set of each run, with its peak and final value. */
export function renderChart(o: ChartOptions): string {
  return renderLineChart({
    title: o.title,
    limitBytes: o.limitBytes,
    series: o.runs.map((r) => ({
      color: COLORS[r.variant] ?? '#555',
      points: r.samples.map((s) => ({ t: s.t, bytes: s.workingSet })),
      label: `${r.variant}: peak ${Math.round(r.peakWorkingSetBytes / MiB)} MiB, final ${Math.round(r.finalWorkingSetBytes / MiB)} MiB`,
      endNote: r.oomKilled ? 'OOM-killed' : undefined,
    })),
  });
}
