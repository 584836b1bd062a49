/**
 * `--find-limit`: bisect the smallest memory limit under which each variant still completes.
 *
 * @module
 */
import type { FindLimitResult } from './report.js';
import type { RunResult, Variant } from './types.js';
import { VARIANTS } from './types.js';

/** Runs one variant under a limit. */
export type Probe = (variant: Variant, limitBytes: number) => Promise<RunResult>;

/** Options of {@link findLimits}. */
export interface FindLimitOptions {
  /** First limit tried per variant (it is doubled until a run completes). */
  start: Record<Variant, number>;
  /** Limits at or below this are assumed to fail (node alone needs more). */
  floorBytes: number;
  /** Stop when the bracket is this narrow; limits are multiples of it. */
  stepBytes: number;
  /** Give up doubling past this. */
  ceilingBytes: number;
  /** Called before every probe. */
  onProbe?: (variant: Variant, limitBytes: number) => void;
}

const roundUp = (v: number, step: number) => Math.ceil(v / step) * step;

/** Bisect per variant; each probe is a full run in a fresh cgroup. */
export async function findLimits(probe: Probe, o: FindLimitOptions): Promise<FindLimitResult> {
  const probes: FindLimitResult['probes'] = [];
  const found: Record<Variant, number | null> = { naive: null, slabio: null };
  const attempt = async (variant: Variant, limitBytes: number): Promise<boolean> => {
    o.onProbe?.(variant, limitBytes);
    const r = await probe(variant, limitBytes);
    probes.push({ variant, limitBytes, completed: r.completed, failure: r.failure });
    return r.completed;
  };
  for (const variant of VARIANTS) {
    let lo = roundUp(o.floorBytes, o.stepBytes);
    let hi = Math.max(lo + o.stepBytes, roundUp(o.start[variant], o.stepBytes));
    while (!(await attempt(variant, hi))) {
      lo = hi;
      if (hi >= o.ceilingBytes) {
        hi = -1;
        break;
      }
      hi = Math.min(o.ceilingBytes, hi * 2);
    }
    if (hi < 0) continue;
    while (hi - lo > o.stepBytes) {
      const mid = roundUp((lo + hi) / 2, o.stepBytes);
      if (mid >= hi) break;
      if (await attempt(variant, mid)) hi = mid;
      else lo = mid;
    }
    found[variant] = hi;
  }
  return {
    naive: found.naive,
    slabio: found.slabio,
    ratio: found.naive !== null && found.slabio !== null ? found.slabio / found.naive : null,
    stepBytes: o.stepBytes,
    probes,
  };
}
