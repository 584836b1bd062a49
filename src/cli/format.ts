/**
 * Text helpers for the CLI: byte sizes, percentages, aligned rows and a sparkline.
 *
 * @module
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`; `null` → `none`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'none';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** Share of `whole` as `12.3%`, or `n/a` without a whole. */
export function percent(part: number, whole: number | null): string {
  if (whole === null || whole <= 0) return 'n/a';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/** Left-aligned label column. */
export function row(label: string, value: string, width = 18): string {
  return `  ${label.padEnd(width)}${value}`;
}

/**
 * An error's message once: Node's fs errors start with their code (`ENOENT: no such file or
 * directory, opendir '/x'`), so `code: message` would say it twice. Gives `message (CODE)`;
 * `named: false` also drops the `, opendir '/x'` tail, for a caller that names the path itself.
 */
export function fsErrorText(
  err: Error & { code?: unknown; syscall?: unknown; path?: unknown },
  named = true,
): string {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined) return err.message;
  let rest = err.message.startsWith(`${code}: `) ? err.message.slice(code.length + 2) : err.message;
  const tail = `, ${String(err.syscall)} '${String(err.path)}'`;
  if (!named && rest.endsWith(tail)) rest = rest.slice(0, -tail.length);
  return `${rest} (${code})`;
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * Without a limit, the scale spans at least this share of the largest value: a working set of
 * 200 MiB that moves by 0.5 MiB stays a flat line instead of jumping from the lowest bar to the
 * highest, while a move of a tenth of it still spans the whole height.
 */
export const MIN_SPAN_RATIO = 0.1;

/**
 * The range a sparkline of `values` is drawn in: `[0, max]` with a `max` (the limit), else the
 * range the values span, widened upwards to {@link MIN_SPAN_RATIO} of the largest value.
 */
export function sparklineScale(
  values: readonly number[],
  max?: number,
): { lo: number; hi: number } {
  if (max !== undefined) return { lo: 0, hi: max };
  if (values.length === 0) return { lo: 0, hi: 0 };
  const lo = Math.min(...values);
  const top = Math.max(...values);
  return { lo, hi: Math.max(top, lo + Math.abs(top) * MIN_SPAN_RATIO) };
}

/**
 * A sparkline of `values` in the range {@link sparklineScale} gives: scaled to `[0, max]` when
 * `max` is given (the limit), else to the values' own range, but at least a tenth of the largest
 * value, so small changes look small.
 *
 * @example
 * ```ts
 * sparkline([0, 5, 10], 10); // '▁▅█'
 * ```
 */
export function sparkline(values: readonly number[], max?: number): string {
  if (values.length === 0) return '';
  const { lo, hi } = sparklineScale(values, max);
  return values
    .map((v) => {
      if (hi <= lo) return BARS[0];
      const i = Math.round(((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (BARS.length - 1));
      return BARS[i];
    })
    .join('');
}
