/**
 * Parsers for the kernel's cgroup and `/proc` file formats. Every number is checked: a malformed
 * value is a {@link CgroupError} naming the file and key, never a silent `NaN`.
 *
 * @module
 */
import { CgroupError } from '../errors.js';

// Decimal digits only: the kernel prints u64 counters this way. Values above 2^53 (the v1
// "unlimited" sentinel 9223372036854771712) lose precision as a Number, which is fine because
// anything at or above host memory is treated as "no limit" anyway.
const DIGITS = /^\d+$/;

/**
 * Parse one unsigned decimal integer as printed by the kernel.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` when `text` is not a decimal integer.
 * @example
 * ```ts
 * parseCount('4096', 'memory.current'); // 4096
 * ```
 */
export function parseCount(text: string, file: string, key?: string): number {
  const t = text.trim();
  if (!DIGITS.test(t)) {
    const where = key === undefined ? '' : ` for key "${key}"`;
    throw new CgroupError(file, `malformed number ${JSON.stringify(t)}${where}`);
  }
  return Number(t);
}

/**
 * Parse a single-value file that may hold `max` (cgroup v2 `memory.max`, `memory.high`).
 * Returns `null` for `max`.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the value is neither `max` nor a number.
 * @example
 * ```ts
 * parseMax('max\n', 'memory.max'); // null
 * ```
 */
export function parseMax(text: string, file: string): number | null {
  const t = text.trim();
  return t === 'max' ? null : parseCount(t, file);
}

/**
 * Parse a flat-keyed file (`key value` per line: `memory.stat`, `memory.events`,
 * `memory.oom_control`) into a map. Blank lines are skipped; every value must be a number.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` on a line without a value or a malformed number.
 * @example
 * ```ts
 * parseFlatKeyed('anon 4096\nfile 0\n', 'memory.stat').get('anon'); // 4096
 * ```
 */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const space = line.search(/\s/);
    if (space < 0) throw new CgroupError(file, `line ${JSON.stringify(line)} has no value`);
    const key = line.slice(0, space);
    out.set(key, parseCount(line.slice(space + 1), file, key));
  }
  return out;
}

/** One line of a PSI file: share of wall time stalled, in percent, and the total stall time. */
export interface PressureLine {
  /** Percent of the last 10 s some (or all) tasks were stalled on memory. */
  avg10: number;
  /** Percent over the last 60 s. */
  avg60: number;
  /** Percent over the last 300 s. */
  avg300: number;
  /** Total stall time in microseconds since boot (or cgroup creation). */
  totalUs: number;
}

/** Parsed pressure-stall information (`memory.pressure`, `/proc/pressure/memory`). */
export interface Pressure {
  /** `cgroup`: the group's own `memory.pressure`; `host`: `/proc/pressure/memory` (system-wide). */
  scope: 'cgroup' | 'host';
  /** At least one task stalled. */
  some: PressureLine;
  /** All non-idle tasks stalled at once; `null` on kernels that print only `some`. */
  full: PressureLine | null;
}

const AVG = /^\d+(?:\.\d+)?$/;

function parsePressureLine(fields: string[], file: string): PressureLine {
  const vals = new Map<string, string>();
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq > 0) vals.set(f.slice(0, eq), f.slice(eq + 1));
  }
  const avg = (k: string): number => {
    const v = vals.get(k);
    if (v === undefined || !AVG.test(v)) {
      throw new CgroupError(file, `malformed PSI field ${k}=${JSON.stringify(v ?? '')}`);
    }
    return Number(v);
  };
  return {
    avg10: avg('avg10'),
    avg60: avg('avg60'),
    avg300: avg('avg300'),
    totalUs: parseCount(vals.get('total') ?? '', file, 'total'),
  };
}

/**
 * Parse a PSI file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line).
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the `some` line is missing or a field is malformed.
 * @example
 * ```ts
 * parsePressure('some avg10=1.5 avg60=0.2 avg300=0.0 total=1200\n', 'memory.pressure', 'cgroup').some.avg10; // 1.5
 * ```
 */
export function parsePressure(text: string, file: string, scope: Pressure['scope']): Pressure {
  let some: PressureLine | null = null;
  let full: PressureLine | null = null;
  for (const raw of text.split('\n')) {
    const [kind, ...fields] = raw.trim().split(/\s+/);
    if (kind === 'some') some = parsePressureLine(fields, file);
    else if (kind === 'full') full = parsePressureLine(fields, file);
  }
  if (some === null) throw new CgroupError(file, 'no "some" line');
  return { scope, some, full };
}

/**
 * Parse `/proc/meminfo` (`MemTotal:  24731708 kB`) into bytes per key.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` on a malformed number.
 * @example
 * ```ts
 * parseMeminfo('MemTotal: 4 kB\n', '/proc/meminfo').get('MemTotal'); // 4096
 * ```
 */
export function parseMeminfo(text: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const m = /^([^:]+):\s*(\S+)(?:\s+kB)?\s*$/.exec(raw.trim());
    if (m === null) continue;
    const key = m[1] as string;
    const unitKb = raw.trim().endsWith('kB');
    out.set(key, parseCount(m[2] as string, file, key) * (unitKb ? 1024 : 1));
  }
  return out;
}
