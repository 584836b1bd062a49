/**
 * {@link MemoryGuardOptions} resolved once: defaults, validation, and what the thresholds come to
 * in bytes for a given cgroup reading. A threshold is a fraction of a base (≤ 1) or a byte count
 * (> 1). Internal.
 *
 * @module
 */
import { debug } from '../debug.js';
import { UnsupportedError } from '../errors.js';
import { mallocTrim as nativeMallocTrim } from '../native/malloc.js';
import {
  booleanOption,
  checkFunction,
  checkNumber,
  checkSignal,
  functionOption,
  numberOption,
  objectOption,
  oneOf,
  shown,
} from '../validate.js';
import type { CgroupMemory, ReadCgroupMemoryOptions } from './cgroup.js';
import type { GuardSample, GuardState, MemoryGuardOptions, TrimmablePool } from './guard-types.js';
import { defaultPageCacheRegistry } from './page-cache-registry.js';
import type { ReliefTools } from './relief.js';

/** Drops one file's page cache. */
export type DropCache = (file: string) => Promise<unknown>;

/** @internal Every option of {@link MemoryGuardOptions}, checked, with its default. */
export interface GuardSettings {
  soft: number;
  hard: number;
  hysteresis: number;
  hardBase: 'ceiling' | 'limit';
  intervalMs: number;
  cooldownMs: number;
  limit: number | undefined;
  /**
   * What the soft actions use. `dropCache` `null` is disabled, `undefined` slabio's `dropCache`,
   * looked up on first use ({@link defaultDropCache}).
   */
  tools: Omit<ReliefTools, 'stats' | 'dropCache'> & { dropCache: DropCache | null | undefined };
  unref: boolean;
  wake: boolean;
  onSoft: MemoryGuardOptions['onSoft'];
  onHard: MemoryGuardOptions['onHard'];
  signal: AbortSignal | undefined;
  reader: ReadCgroupMemoryOptions | undefined;
}

/** Thresholds in bytes for one reading. */
export type GuardLevels = Omit<GuardSample, 'state' | 'newHighEvents'>;

const HARD_BASES = ['ceiling', 'limit'] as const;

/** A threshold: finite, above 0 (or at least 0 for hysteresis). */
function threshold(name: string, value: unknown, fallback: number, zero = false): number {
  return value === undefined
    ? fallback
    : checkNumber(`options.${name}`, value, { min: 0, above: !zero });
}

function poolsOption(value: unknown): TrimmablePool[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`options.pools must be an array of pools, got ${shown(value)}`);
  }
  value.forEach((pool: unknown, i) => {
    checkFunction(`options.pools[${i}].trim`, (pool as { trim?: unknown } | null)?.trim);
  });
  return value;
}

/**
 * Apply defaults and validate every option.
 *
 * @throws {TypeError|RangeError} naming the option and the bad value, or `soft` not below `hard`.
 */
export function resolveGuardOptions(options: MemoryGuardOptions): GuardSettings {
  const o = objectOption('options', options) ?? {};
  const soft = threshold('soft', o.soft, 0.8);
  const hard = threshold('hard', o.hard, 0.95);
  // Mixed kinds (a fraction and a byte count) cannot be ordered before the base is known.
  if (soft <= 1 === hard <= 1 && soft >= hard) {
    throw new RangeError(`options.soft (${soft}) must be below options.hard (${hard})`);
  }
  const dropCache = o.dropCache === false ? null : functionOption('options.dropCache', o.dropCache);
  const mallocTrim =
    o.mallocTrim === false
      ? null
      : (functionOption('options.mallocTrim', o.mallocTrim) ?? nativeMallocTrim);
  return {
    soft,
    hard,
    hysteresis: threshold('hysteresis', o.hysteresis, 0.05, true),
    hardBase: oneOf('options.hardBase', o.hardBase, HARD_BASES, 'ceiling'),
    intervalMs: numberOption('options.intervalMs', o.intervalMs, 1000),
    cooldownMs: numberOption('options.cooldownMs', o.cooldownMs, 10_000),
    limit:
      o.limit === undefined
        ? undefined
        : checkNumber('options.limit', o.limit, { min: 0, above: true, infinity: true }),
    tools: {
      pools: poolsOption(o.pools),
      registry: objectOption('options.registry', o.registry) ?? defaultPageCacheRegistry,
      dropCache,
      mallocTrim,
      reclaim: booleanOption('options.reclaim', o.reclaim, true),
    },
    unref: booleanOption('options.unref', o.unref, true),
    wake: booleanOption('options.wake', o.wake, true),
    onSoft: functionOption('options.onSoft', o.onSoft),
    onHard: functionOption('options.onHard', o.onHard),
    signal: checkSignal(o.signal),
    reader: objectOption('options.reader', o.reader),
  };
}

/** slabio's `dropCache` (src/fs, native addon), imported on first use when the caller chose none. */
export async function defaultDropCache(): Promise<DropCache | null> {
  try {
    const fs = await import('../fs/index.js');
    // Without the addon dropCache drops nothing and says so; relief stops at this error.
    return async (file: string) => {
      const r = await fs.dropCache(file);
      if (!r.dropped) throw new UnsupportedError(`dropCache: ${r.reason}`);
    };
  } catch (err) {
    debug('memory guard: no dropCache available: %s', (err as Error).message);
    return null;
  }
}

/** A threshold against `base` bytes. */
function bytesOf(value: number, base: number): number {
  return value <= 1 ? Math.round(value * base) : value;
}

/**
 * The thresholds in bytes for `memory`. Fractions are of the ceiling (the lower of `memory.high`
 * and the limit), else `options.limit`, else host memory; a fractional `hard` with
 * `hardBase: 'limit'` is of the limit.
 */
export function levelsOf(s: GuardSettings, memory: CgroupMemory): GuardLevels {
  const fallback = s.limit ?? memory.hostMemory;
  const baseBytes = memory.ceiling ?? fallback;
  const hardBase = s.hardBase === 'limit' ? (memory.limit ?? fallback) : baseBytes;
  return {
    memory,
    baseBytes,
    softBytes: bytesOf(s.soft, baseBytes),
    hardBytes: bytesOf(s.hard, hardBase),
    hysteresisBytes: bytesOf(s.hysteresis, baseBytes),
  };
}

/**
 * The state after a working set of `ws` bytes, from `state`: a state is entered at its threshold
 * and left only below the threshold minus the hysteresis, so the guard does not flap.
 */
export function nextState(state: GuardState, ws: number, m: GuardLevels): GuardState {
  const { softBytes, hardBytes, hysteresisBytes } = m;
  if (ws >= hardBytes) return 'hard';
  if (state === 'hard' && ws >= hardBytes - hysteresisBytes) return 'hard';
  if (ws >= softBytes) return 'soft';
  if (state !== 'ok' && ws >= softBytes - hysteresisBytes) return 'soft';
  return 'ok';
}

const RANKS: Record<GuardState, number> = { ok: 0, soft: 1, hard: 2 };

/** Whether `to` is a step down from `from`. */
export function isStepDown(from: GuardState, to: GuardState): boolean {
  return RANKS[to] < RANKS[from];
}
