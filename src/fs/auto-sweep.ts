/**
 * The sweep slabio runs by itself before it creates a temporary file or directory, with its cost
 * bounded: a directory is swept at most once an hour per process, only its first
 * {@link AUTO_SWEEP_MAX_ENTRIES} entries are read, and a write never fails because of it.
 * Internal.
 *
 * @module
 */
import { resolve } from 'node:path';
import { channels, debug } from '../debug.js';
import { DEFAULT_SWEEP_MAX_AGE_MS, sweepDir } from './sweep.js';

/**
 * Entries read per automatic sweep. Measured (`bench/sweep.bench.ts`, shared 2-core VM, ext4): the
 * first atomic write of a fresh process into a directory of 10,000 entries took 3 ms longer than
 * into an empty one with the addon's scan, 31 ms longer with `fs.opendir` (no addon). Larger
 * directories are swept as far as that, the rest only by `sweepStale` / `slabio sweep`.
 */
export const AUTO_SWEEP_MAX_ENTRIES = 10_000;
/** A directory is swept again after this long (files of other owners age past `maxAgeMs`). */
export const AUTO_SWEEP_INTERVAL_MS = 3_600_000;
// Directories remembered; the oldest are forgotten first (and would be swept again).
const MAX_REMEMBERED = 1024;

const sweptAt = new Map<string, number>();
const running = new Map<string, Promise<void>>();

/**
 * Sweep `dir` unless this process did in the last hour. Resolves when done (writers into a
 * directory being swept wait for that one sweep); never rejects.
 */
export function sweepBeforeWrite(dir: string): Promise<void> {
  const key = resolve(dir);
  const inFlight = running.get(key);
  if (inFlight !== undefined) return inFlight;
  const now = Date.now();
  const last = sweptAt.get(key);
  if (last !== undefined && now - last < AUTO_SWEEP_INTERVAL_MS) return Promise.resolve();
  sweptAt.delete(key);
  sweptAt.set(key, now);
  if (sweptAt.size > MAX_REMEMBERED) sweptAt.delete(sweptAt.keys().next().value as string);
  const sweep = sweepDir(key, {
    maxAgeMs: DEFAULT_SWEEP_MAX_AGE_MS,
    dryRun: false,
    signal: undefined,
    maxEntries: AUTO_SWEEP_MAX_ENTRIES,
  })
    .then(
      (result) => {
        for (const r of result.removed) debug('swept %s (%s)', r.path, r.reason);
        if (channels.fsSweep.hasSubscribers) {
          channels.fsSweep.publish({ ...result, automatic: true });
        }
      },
      // An unreadable directory (EACCES on a write-only drop box) must not fail the write.
      (err: unknown) => debug('sweep of %s skipped: %s', key, String(err)),
    )
    .finally(() => running.delete(key));
  running.set(key, sweep);
  return sweep;
}
