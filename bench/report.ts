/**
 * Benchmark reporting: medians and ratios to a baseline (`summarize`), table columns
 * (`columnTable` and the ready-made columns), the `--json` / table ending (`printResults`) and
 * flag parsing. Measurement lives in `harness.ts`, which re-exports this module.
 *
 * @module
 */
import os from 'node:os';

/** Median; the mean of the two middle values for an even count. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A variant compared with a baseline variant (possibly itself) of the same run. */
export interface Compared {
  readonly name: string;
  readonly baseline: string;
}

/** What a benchmark child reports for every run, next to its own fields. */
export interface RunStats {
  gcCount: number;
  gcPauseMs: number;
  peakRss: number;
  peakArrayBuffers: number;
}

/**
 * One row of medians over a variant's runs: its rate under the benchmark's own key `K`
 * (e.g. `codesPerS`) with min–max and the ratio to its baseline's median, then GC and memory.
 */
export type Summary<K extends string> = {
  name: string;
  baseline: string;
  min: number;
  max: number;
  vsBaseline: number;
  gcCount: number;
  gcPauseMs: number;
  peakRssMiB: number;
  peakArrayBuffersMiB: number;
} & Record<K, number>;

/**
 * Summarise `interleave` results: one {@link Summary} per variant, in order, followed by the
 * benchmark's own fields from `extra` (given the variant, its runs and the median of a field).
 */
export function summarize<
  K extends string,
  V extends Compared,
  R extends RunStats & Record<K, number>,
  E extends object,
>(
  variants: readonly V[],
  results: ReadonlyMap<string, readonly R[]>,
  rateKey: K,
  extra: (variant: V, runs: readonly R[], pick: (f: (r: R) => number) => number) => E,
): (Summary<K> & E)[] {
  const rows = variants.map((v) => {
    const rs = results.get(v.name) ?? [];
    const pick = (f: (r: R) => number): number => median(rs.map(f));
    const rates = rs.map((r) => r[rateKey]);
    return {
      name: v.name,
      baseline: v.baseline,
      [rateKey]: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      vsBaseline: 0,
      gcCount: pick((r) => r.gcCount),
      gcPauseMs: pick((r) => r.gcPauseMs),
      peakRssMiB: Number(mib(pick((r) => r.peakRss))),
      peakArrayBuffersMiB: Number(mib(pick((r) => r.peakArrayBuffers))),
      ...extra(v, rs, pick),
    } as Summary<K> & E;
  });
  for (const row of rows) {
    const rate: number = row[rateKey];
    row.vsBaseline = rate / (rows.find((x) => x.name === row.baseline)?.[rateKey] ?? rate);
  }
  return rows;
}

/** One column of a results table: its header and how a row renders in it. */
export interface Column<R> {
  header: string;
  cell(row: R): string;
}

/** GC count and pause columns, for any row that has them. */
export function gcColumns<R extends { gcCount: number; gcPauseMs: number }>(): Column<R>[] {
  return [
    { header: 'GCs', cell: (r) => String(r.gcCount) },
    { header: 'GC pause ms', cell: (r) => r.gcPauseMs.toFixed(1) },
  ];
}

/** Columns of a {@link Summary}: variant, rate with `digits` decimals, min–max, vs baseline. */
export function rateColumns<K extends string>(
  rateKey: K,
  header: string,
  digits: number,
): Column<Summary<K>>[] {
  return [
    { header: 'variant', cell: (r) => r.name },
    { header, cell: (r) => r[rateKey].toFixed(digits) },
    { header: 'min–max', cell: (r) => `${r.min.toFixed(digits)}–${r.max.toFixed(digits)}` },
    { header: 'vs baseline', cell: (r) => `${r.vsBaseline.toFixed(2)}× ${r.baseline}` },
  ];
}

/** A column of MiB with one decimal, from a value already in MiB. */
export function mibColumn<R>(header: string, get: (row: R) => number): Column<R> {
  return { header, cell: (r) => get(r).toFixed(1) };
}

/** Page cache the written files still occupy, `-` for variants that write none. */
export function pageCacheColumn<R extends { cacheMiB: number | null }>(header: string): Column<R> {
  return { header, cell: (r) => (r.cacheMiB === null ? '-' : r.cacheMiB.toFixed(2)) };
}

/** Render `rows` through `columns` with {@link table}. */
export function columnTable<R>(rows: readonly R[], columns: readonly Column<NoInfer<R>>[]): string {
  return table(
    columns.map((c) => c.header),
    rows.map((r) => columns.map((c) => c.cell(r))),
  );
}

/**
 * The end of a compared-variants benchmark: with `--json`, `{ environment, ...json }` indented;
 * otherwise the title, the environment line and the table.
 */
export function printResults(
  title: string,
  json: Record<string, unknown>,
  renderTable: () => string,
): void {
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), ...json }, null, 2));
    return;
  }
  console.log(title);
  console.log(environment());
  console.log(renderTable());
}

/** Render rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Mebibytes with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** The environment line every RESULTS.md entry starts with. */
export function environment(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${os.platform()} ${os.release()}, ${cpu} × ${os.cpus().length}, ${new Date().toISOString().slice(0, 10)}`;
}

/** The value of `--<flag>` as an integer ≥ 1; a RangeError names the flag and what was given. */
export function positiveInteger(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${flag} must be ≥ 1, got ${raw}`);
  return n;
}

/** Whether `--json` was passed. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--json');
}
