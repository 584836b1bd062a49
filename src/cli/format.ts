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

const BARS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of `values` scaled to `[0, max]` when `max` is given (the limit), else to the
 * range the values span, so a flat line without a limit still shows its wiggles.
 *
 * @example
 * ```ts
 * sparkline([0, 5, 10], 10); // '▁▅█'
 * ```
 */
export function sparkline(values: readonly number[], max?: number): string {
  if (values.length === 0) return '';
  const lo = max === undefined ? Math.min(...values) : 0;
  const hi = max ?? Math.max(...values);
  return values
    .map((v) => {
      if (hi <= lo) return BARS[0];
      const i = Math.round(((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (BARS.length - 1));
      return BARS[i];
    })
    .join('');
}
