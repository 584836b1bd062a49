/**
 * `sweepStale`: remove the temporary files and directories slabio's writers leave behind when
 * their process is killed mid-write.
 *
 * @module
 */
import type { Stats } from 'node:fs';
import { lstat, opendir, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { channels, debug } from '../debug.js';
import { loadBinding } from '../native/binding.js';
import { parseTempName, type TempKind } from '../native/owner.js';
import { errnoCode } from '../native/system-error.js';
import { booleanOption, checkObject, checkSignal, numberOption, toPath } from '../validate.js';
import { judge, type SweepKeepReason, type SweepRemoveReason } from './sweep-judge.js';

export type { SweepKeepReason, SweepRemoveReason } from './sweep-judge.js';

/** Options of {@link sweepStale}. */
export interface SweepStaleOptions {
  /**
   * Entries whose owner cannot be checked from here — written on another machine or under another
   * boot, by a process in another pid namespace that held no lock, or in the name format without
   * an owner identity — are removed once unmodified (mtime) for this many milliseconds.
   * `Infinity` keeps them.
   * @default 86_400_000 (24 hours)
   */
  maxAgeMs?: number;
  /** Judge and report, remove nothing. @default false */
  dryRun?: boolean;
  /** Aborting stops between entries and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** An entry {@link sweepStale} removed (or, with `dryRun`, would remove). */
export interface SweptEntry {
  path: string;
  /**
   * `'tmp'` atomic-write temp file, `'spool'` zip spool file, `'staging'` zip staging directory,
   * `'probe'` capability probe, `'work'` scratch directory (the container lab's).
   */
  kind: TempKind;
  directory: boolean;
  /**
   * `'owner-exited'`: no process has the owner's pid; `'pid-reused'`: the pid belongs to a process
   * started at another time; `'lock-released'`: the owner's flock is gone; `'max-age'`: the owner
   * could not be checked and the entry is older than `maxAgeMs`.
   */
  reason: SweepRemoveReason;
  /** The owner's pid as its name gives it (in the owner's pid namespace), if it gives one. */
  pid: number | null;
  /** Milliseconds since it was last modified. */
  ageMs: number;
}

/** An entry {@link sweepStale} left in place. */
export interface KeptEntry extends Omit<SweptEntry, 'reason'> {
  /**
   * `'own'`: this process's; `'owner-running'`: its owner runs; `'lock-held'`: its owner's flock
   * is held; `'other-namespace'` / `'other-host'` / `'unverifiable'`: the owner cannot be checked
   * from here and the entry is younger than `maxAgeMs`.
   */
  reason: SweepKeepReason;
}

/** What {@link sweepStale} did in one directory. */
export interface SweepResult {
  /** The directory, resolved. */
  dir: string;
  removed: SweptEntry[];
  kept: KeptEntry[];
  /** Entries that were stale but could not be removed (EACCES, EPERM, EBUSY, ...). */
  failed: { path: string; error: Error }[];
}

/** Internal settings of a sweep. */
export interface SweepSettings {
  maxAgeMs: number;
  dryRun: boolean;
  signal: AbortSignal | undefined;
  /** Stop reading the directory after this many entries. */
  maxEntries: number;
}

/** Default {@link SweepStaleOptions.maxAgeMs}: 24 hours. */
export const DEFAULT_SWEEP_MAX_AGE_MS = 24 * 3_600_000;

// Every temp name format contains it, almost no other name does.
const NEEDLE = '.slabio-';

/** The slabio temp names among the first `maxEntries` entries of `dir`. */
async function candidates(
  dir: string,
  s: SweepSettings,
): Promise<{ names: string[]; scanned: number; complete: boolean }> {
  const scan = loadBinding()?.scanDir;
  if (scan !== undefined) {
    // Its failure (opendir's ENOENT, ENOTDIR, EACCES) is the error Node's opendir below gives.
    const r = await scan(dir, Math.min(s.maxEntries, Number.MAX_SAFE_INTEGER), NEEDLE);
    return { ...r, names: r.names.filter((n) => parseTempName(n) !== null) };
  }
  const names: string[] = [];
  let scanned = 0;
  // for await closes the Dir on break and on throw.
  for await (const entry of await opendir(dir, { bufferSize: 256 })) {
    if (scanned === s.maxEntries) return { names, scanned, complete: false };
    scanned++;
    if (entry.name.includes(NEEDLE) && parseTempName(entry.name) !== null) names.push(entry.name);
    if (scanned % 4096 === 0) s.signal?.throwIfAborted();
  }
  return { names, scanned, complete: true };
}

/** Sweep `dir` with resolved settings; also reports whether the whole directory was read. */
export async function sweepDir(
  directory: string,
  s: SweepSettings,
): Promise<SweepResult & { scanned: number; complete: boolean }> {
  const dir = resolve(directory);
  const { names, scanned, complete } = await candidates(dir, s);
  const result = {
    dir,
    removed: [] as SweptEntry[],
    kept: [] as KeptEntry[],
    failed: [] as SweepResult['failed'],
  };
  for (const name of names) {
    s.signal?.throwIfAborted();
    const parsed = parseTempName(name);
    if (parsed === null) continue;
    const path = join(dir, name);
    let st: Stats;
    try {
      st = await lstat(path);
    } catch {
      continue;
    }
    // A symbolic link or anything else under such a name is not ours.
    if (parsed.directory ? !st.isDirectory() : !st.isFile()) continue;
    const ageMs = Math.max(0, Math.round(Date.now() - st.mtimeMs));
    const entry = { path, kind: parsed.kind, directory: parsed.directory, pid: parsed.pid, ageMs };
    const verdict = await judge(path, parsed, st, ageMs, s.maxAgeMs);
    if (!verdict.stale) {
      result.kept.push({ ...entry, reason: verdict.reason });
      continue;
    }
    try {
      if (!s.dryRun) {
        // With the owner's lock held, when the lock was what told us.
        if (parsed.directory) await rm(path, { recursive: true });
        else await unlink(path);
      }
      result.removed.push({ ...entry, reason: verdict.reason });
    } catch (err) {
      // Gone already: another sweeper was faster.
      if (errnoCode(err) !== 'ENOENT') result.failed.push({ path, error: err as Error });
    } finally {
      await verdict.lock?.close().catch(() => {});
    }
  }
  debug(
    'sweep %s: %d entries read%s, %d removed, %d kept, %d failed',
    dir,
    scanned,
    complete ? '' : ' (stopped early)',
    result.removed.length,
    result.kept.length,
    result.failed.length,
  );
  return { ...result, scanned, complete };
}

/**
 * Remove the temporary files and directories slabio left in `dir` whose owner process is gone:
 * atomic-write temp files (`.<name>.slabio-….tmp`), zip spool files (`….spool`) and staging
 * directories (`….staging`), capability probes (`….probe`). Other entries are never touched,
 * nor entries of a live process. Not recursive. Atomic writes, spools and extractions run a
 * bounded version of this on their directory themselves (see docs/api/files.md).
 *
 * Each name carries its owner's pid, start time, pid namespace and boot id. An entry is stale when
 * - it was written under this kernel (same boot id), its owner held a flock on it (Linux with the
 *   addon) and that lock is free now, in any pid namespace; or
 * - it comes from our own pid namespace on this kernel and its pid is gone or now belongs to a
 *   process with another start time; or
 * - without `/proc` (macOS, Windows): the same host name, its pid is gone, and it is unmodified for
 *   10 minutes; or
 * - its owner cannot be checked from here (another machine or boot, another pid namespace without
 *   a lock, the older name format) and it is unmodified for `maxAgeMs`.
 *
 * @param dir The directory to sweep: a path or a `file:` URL.
 * @returns What was removed, kept and could not be removed, with the reasons.
 * @default options `{ maxAgeMs: 24 hours, dryRun: false }`
 * @throws {TypeError|RangeError} for bad arguments, naming them.
 * @throws Node's error for a directory that cannot be read (ENOENT, ENOTDIR, EACCES), or
 * `signal.reason` on abort.
 * @example
 * ```ts
 * const { removed } = await sweepStale('uploads');
 * for (const r of removed) console.log(`removed ${r.path} (${r.reason})`);
 * ```
 */
export async function sweepStale(
  dir: string | URL,
  options: SweepStaleOptions = {},
): Promise<SweepResult> {
  const path = toPath('dir', dir);
  checkObject('options', options);
  const maxAgeMs = numberOption('options.maxAgeMs', options.maxAgeMs, DEFAULT_SWEEP_MAX_AGE_MS, {
    infinity: true,
  });
  const dryRun = booleanOption('options.dryRun', options.dryRun, false);
  const signal = checkSignal(options.signal);
  signal?.throwIfAborted();
  const { scanned, complete, ...result } = await sweepDir(path, {
    maxAgeMs,
    dryRun,
    signal,
    maxEntries: Number.POSITIVE_INFINITY,
  });
  channels.fsSweep.publish({ ...result, scanned, complete, automatic: false });
  return result;
}
