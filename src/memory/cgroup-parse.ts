/**
 * Parsers for the kernel's cgroup and `/proc` file formats. They accept exactly what the kernel
 * prints (`%llu` decimals, one space between key and value, one newline per line) and refuse
 * everything else with a {@link CgroupError} naming the file, the key and the bad text: a value
 * that is read is never `NaN`, `Infinity`, negative or rounded.
 *
 * @module
 */
import { CgroupError } from '../errors.js';

// The kernel prints counters and limits with %llu / %lu: decimal digits, no sign, no leading
// zero, at most 2^64 − 1.
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const U64_MAX = '18446744073709551615';
// The longest bad text quoted in a message; a file of 400 digits stays readable in a log.
const QUOTE_MAX = 40;

/** `text` as JSON (whitespace and control characters visible), shortened when long. */
function quote(text: string): string {
  if (text.length <= QUOTE_MAX) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTE_MAX))}… (${text.length} characters)`;
}

function forKey(key: string | undefined): string {
  return key === undefined ? '' : ` for key "${key}"`;
}

/** True when `token` is a decimal the kernel's `%llu` can print (≤ 2^64 − 1). */
function isU64(token: string): boolean {
  if (!DECIMAL.test(token)) return false;
  return token.length < U64_MAX.length || (token.length === U64_MAX.length && token <= U64_MAX);
}

function checkU64(token: string, file: string, key?: string): void {
  if (!isU64(token)) {
    throw new CgroupError(
      file,
      `malformed number ${quote(token)}${forKey(key)}: not an unsigned 64-bit decimal as the kernel prints it`,
    );
  }
}

/**
 * A counter (usage, page counts, events): an unsigned decimal that is also a safe integer, so
 * the arithmetic on it (usage − inactive_file) is exact. Above 2^53 − 1 bytes (8 PiB) no real
 * counter goes; a value there is a kernel underflow (v1 usage showing 2^64 − 1) or garbage.
 */
function toCounter(token: string, file: string, key?: string): number {
  checkU64(token, file, key);
  const n = Number(token);
  if (!Number.isSafeInteger(n)) {
    throw new CgroupError(
      file,
      `value ${quote(token)}${forKey(key)} is above 2^53 − 1 (${Number.MAX_SAFE_INTEGER}), more than any real counter holds`,
    );
  }
  return n;
}

/**
 * A limit: an unsigned decimal (or `max` on cgroup v2). Returns `null` for "no limit": v2 `max`,
 * and any value too large for a real limit (above 2^53 − 1 bytes, 8 PiB). That range holds
 * every spelling the kernel uses for "no limit" in v1 files: `PAGE_COUNTER_MAX * PAGE_SIZE` with
 * `PAGE_COUNTER_MAX = LONG_MAX / PAGE_SIZE` on 64-bit kernels, i.e. 2^63 − PAGE_SIZE
 * (9223372036854771712 with 4 KiB pages, 9223372036854759424 with 16 KiB, 9223372036854710272
 * with 64 KiB pages on arm64/ppc64), 2^63 − 1 from the res_counter of kernels before 3.12, and
 * 2^64 − 1 from 3.12 to 3.18. A 32-bit kernel's "no limit" is (2^31 − 1) × PAGE_SIZE (8 TiB with
 * 4 KiB pages), above any 32-bit host's memory: the caller's host-memory rule covers it.
 */
function toLimit(token: string, file: string, version: 1 | 2, key?: string): number | null {
  if (token === 'max' && version === 2) return null;
  checkU64(token, file, key);
  const n = Number(token);
  return Number.isSafeInteger(n) ? n : null;
}

/** The one value of a single-value file: the text without one trailing newline, no whitespace. */
function singleToken(text: string, file: string): string {
  const token = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (token === '' || /\s/.test(token)) {
    throw new CgroupError(
      file,
      `malformed value ${quote(text)}: expected one value and at most a trailing newline`,
    );
  }
  return token;
}

/** Lines of a kernel-printed file: each ends in one newline (the last one may lack it). */
function lines(text: string): string[] {
  const out = text.split('\n');
  if (out.at(-1) === '') out.pop();
  return out;
}

/**
 * Parse a single-value counter file (`memory.current`, `memory.usage_in_bytes`,
 * `memory.failcnt`): one unsigned decimal ≤ 2^53 − 1 and at most a trailing newline.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` naming the file and the text for anything else.
 * @example
 * ```ts
 * parseCounterFile('4096\n', 'memory.current'); // 4096
 * ```
 */
export function parseCounterFile(text: string, file: string): number {
  return toCounter(singleToken(text, file), file);
}

/**
 * Parse a single-value limit file (v1 `memory.limit_in_bytes`; v2 `memory.max`, `memory.high`,
 * `memory.swap.max` …). Returns `null` for no limit: v2 `max`, or a value above 2^53 − 1 bytes
 * (the v1 "unlimited" sentinels, see the module source).
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` for anything but `max` (v2) or an unsigned 64-bit decimal.
 * @example
 * ```ts
 * parseLimitFile('max\n', 'memory.max', 2); // null
 * parseLimitFile('9223372036854771712\n', 'memory.limit_in_bytes', 1); // null
 * ```
 */
export function parseLimitFile(text: string, file: string, version: 1 | 2): number | null {
  return toLimit(singleToken(text, file), file, version);
}

/** A parsed flat-keyed file: every value checked to be an unsigned decimal, read as a counter or a limit. */
export class FlatKeyed {
  readonly #values: Map<string, string>;
  readonly #file: string;

  /** @internal Use {@link parseFlatKeyed}. */
  constructor(values: Map<string, string>, file: string) {
    this.#values = values;
    this.#file = file;
  }

  /** The first of `keys` present, as a counter (≤ 2^53 − 1); `undefined` when none is present. */
  counter(...keys: string[]): number | undefined {
    for (const k of keys) {
      const v = this.#values.get(k);
      if (v !== undefined) return toCounter(v, this.#file, k);
    }
    return undefined;
  }

  /** `key` as a v1 limit (`null`: no limit); `undefined` when absent. */
  limit(key: string): number | null | undefined {
    const v = this.#values.get(key);
    return v === undefined ? undefined : toLimit(v, this.#file, 1, key);
  }
}

/**
 * Parse a flat-keyed file (`key value` per line: `memory.stat`, `memory.events`,
 * `memory.oom_control`). Each line is one key, one space and an unsigned 64-bit decimal; keys are
 * unique. Values a caller reads are checked again as counters or limits; values it does not read
 * (such as v1's `hierarchical_memsw_limit` sentinel) only need the kernel's format.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` on a malformed line, a malformed number or a repeated key.
 * @example
 * ```ts
 * parseFlatKeyed('anon 4096\nfile 0\n', 'memory.stat').counter('anon'); // 4096
 * ```
 */
export function parseFlatKeyed(text: string, file: string): FlatKeyed {
  const out = new Map<string, string>();
  for (const [i, line] of lines(text).entries()) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m === null) {
      throw new CgroupError(file, `line ${i + 1} ${quote(line)} is not "key value"`);
    }
    const [, key, value] = m as unknown as [string, string, string];
    checkU64(value, file, key);
    if (out.has(key)) throw new CgroupError(file, `key "${key}" appears twice`);
    out.set(key, value);
  }
  return new FlatKeyed(out, file);
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

// psi.c prints "%s avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu\n".
const PSI_LINE = /^(some|full) avg10=(\S*) avg60=(\S*) avg300=(\S*) total=(\S*)$/;
// A share of time: a non-negative decimal fraction (no sign, exponent or hex).
const PERCENT = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

function toPercent(token: string, file: string, kind: string, field: string): number {
  const n = Number(token);
  if (!PERCENT.test(token) || n > 100) {
    throw new CgroupError(
      file,
      `malformed PSI field ${kind} ${field}=${quote(token)}: not a percentage from 0 to 100`,
    );
  }
  return n;
}

/**
 * Parse a PSI file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line): the
 * averages are percentages (0–100, fractions allowed), `total` a counter in microseconds.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the `some` line is missing, a line is repeated or
 * not in the kernel's format, or a field is malformed.
 * @example
 * ```ts
 * parsePressure('some avg10=1.50 avg60=0.20 avg300=0.00 total=1200\n', 'memory.pressure', 'cgroup').some.avg10; // 1.5
 * ```
 */
export function parsePressure(text: string, file: string, scope: Pressure['scope']): Pressure {
  const seen: Partial<Record<'some' | 'full', PressureLine>> = {};
  for (const line of lines(text)) {
    const m = PSI_LINE.exec(line);
    if (m === null) {
      throw new CgroupError(
        file,
        `line ${quote(line)} is not "some|full avg10=… avg60=… avg300=… total=…"`,
      );
    }
    const [, kind, a10, a60, a300, total] = m as unknown as [
      string,
      'some' | 'full',
      string,
      string,
      string,
      string,
    ];
    if (seen[kind] !== undefined) throw new CgroupError(file, `"${kind}" line appears twice`);
    seen[kind] = {
      avg10: toPercent(a10, file, kind, 'avg10'),
      avg60: toPercent(a60, file, kind, 'avg60'),
      avg300: toPercent(a300, file, kind, 'avg300'),
      totalUs: toCounter(total, file, `${kind} total`),
    };
  }
  if (seen.some === undefined) throw new CgroupError(file, 'no "some" line');
  return { scope, some: seen.some, full: seen.full ?? null };
}

/** Parsed `/proc/meminfo`: every line checked for the kernel's format, values read in bytes. */
export class Meminfo {
  readonly #values: Map<string, { token: string; kb: boolean }>;
  readonly #file: string;

  /** @internal Use {@link parseMeminfo}. */
  constructor(values: Map<string, { token: string; kb: boolean }>, file: string) {
    this.#values = values;
    this.#file = file;
  }

  /** `key` in bytes (kB values × 1024), a safe integer; `undefined` when absent. */
  bytes(key: string): number | undefined {
    const v = this.#values.get(key);
    if (v === undefined) return undefined;
    const n = toCounter(v.token, this.#file, key) * (v.kb ? 1024 : 1);
    if (!Number.isSafeInteger(n)) {
      throw new CgroupError(
        this.#file,
        `value ${quote(`${v.token} kB`)} for key "${key}" is above 2^53 − 1 bytes`,
      );
    }
    return n;
  }
}

/**
 * Parse `/proc/meminfo` (`MemTotal:  24731708 kB` per line).
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` on a line not in that format, a malformed number or a repeated key.
 * @example
 * ```ts
 * parseMeminfo('MemTotal: 4 kB\n', '/proc/meminfo').bytes('MemTotal'); // 4096
 * ```
 */
export function parseMeminfo(text: string, file: string): Meminfo {
  const out = new Map<string, { token: string; kb: boolean }>();
  for (const line of lines(text)) {
    // The label carries its own padding; a 16-character label meets a wide number without a space.
    const m = /^([^:\s]+): *(\S+)( kB)?$/.exec(line);
    if (m === null) throw new CgroupError(file, `line ${quote(line)} is not "Key: value [kB]"`);
    const [, key, token, kb] = m as unknown as [string, string, string, string | undefined];
    checkU64(token, file, key);
    if (out.has(key)) throw new CgroupError(file, `key "${key}" appears twice`);
    out.set(key, { token, kb: kb !== undefined });
  }
  return new Meminfo(out, file);
}
