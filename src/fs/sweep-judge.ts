/**
 * Deciding whether one of slabio's temporary files or directories is stale: its owner is gone.
 * Internal; the rules are listed on `sweepStale`.
 *
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { loadBinding } from '../native/binding.js';
import {
  type NamedOwner,
  type OwnerIdentity,
  ownerIdentity,
  ownerState,
  type ParsedTempName,
  pidRunning,
} from '../native/owner.js';

/** Why a sweep removed an entry. */
export type SweepRemoveReason = 'owner-exited' | 'pid-reused' | 'lock-released' | 'max-age';

/** Why a sweep left an entry in place. */
export type SweepKeepReason =
  | 'own'
  | 'owner-running'
  | 'lock-held'
  | 'other-namespace'
  | 'other-host'
  | 'unverifiable';

/** The decision on one entry; a stale entry judged by its lock comes with the lock held. */
export type Verdict =
  | { stale: true; reason: SweepRemoveReason; lock: FileHandle | null }
  | { stale: false; reason: SweepKeepReason };

/**
 * Without `/proc` (macOS, Windows) a dead pid is only trusted once the entry is also this old:
 * the host name is the only host identity there, and two machines sharing a volume can share it.
 */
export const PID_ONLY_MIN_AGE_MS = 10 * 60_000;

function sameOwner(a: NamedOwner, b: OwnerIdentity): boolean {
  return a.pid === b.pid && a.start === b.start && a.ns === b.ns && a.host === b.host;
}

function byAge(ageMs: number, maxAgeMs: number, keep: SweepKeepReason): Verdict {
  return ageMs >= maxAgeMs
    ? { stale: true, reason: 'max-age', lock: null }
    : { stale: false, reason: keep };
}

/**
 * Try the owner's flock. `'free'` comes with our handle holding the lock: the caller removes the
 * entry before closing it, so an owner that was just creating it sees it gone and starts over.
 */
async function lockState(
  path: string,
  st: Stats,
  directory: boolean,
): Promise<{ state: 'free'; handle: FileHandle } | { state: 'held' | 'unknown' }> {
  const b = loadBinding();
  const lock = b?.linux === true ? b.tryLock : undefined;
  if (lock === undefined) return { state: 'unknown' };
  // O_NONBLOCK: never hang on a FIFO put there under that name; O_NOFOLLOW: never a link's target.
  const flags =
    constants.O_RDONLY |
    constants.O_NOFOLLOW |
    constants.O_NONBLOCK |
    (directory ? constants.O_DIRECTORY : 0);
  let fh: FileHandle;
  try {
    fh = await open(path, flags);
  } catch {
    return { state: 'unknown' };
  }
  try {
    const now = await fh.stat();
    // Replaced since lstat: judge the new entry another time.
    if (now.ino === st.ino && now.dev === st.dev && (await lock(fh.fd))) {
      return { state: 'free', handle: fh };
    }
    await fh.close();
    return { state: now.ino === st.ino && now.dev === st.dev ? 'held' : 'unknown' };
  } catch {
    await fh.close().catch(() => {});
    return { state: 'unknown' };
  }
}

/** Judge the entry `path` (already lstat'ed as `st`), unmodified for `ageMs`. */
export async function judge(
  path: string,
  parsed: ParsedTempName,
  st: Stats,
  ageMs: number,
  maxAgeMs: number,
): Promise<Verdict> {
  const owner = parsed.owner;
  if (owner === null) return byAge(ageMs, maxAgeMs, 'unverifiable');
  const self = ownerIdentity();
  if (sameOwner(owner, self)) return { stale: false, reason: 'own' };
  if (owner.host !== self.host) return byAge(ageMs, maxAgeMs, 'other-host');
  // The same boot id means the same kernel, whose flock table every pid namespace shares.
  if (owner.locked && self.host.startsWith('b')) {
    const lock = await lockState(path, st, parsed.directory);
    if (lock.state === 'free') return { stale: true, reason: 'lock-released', lock: lock.handle };
    if (lock.state === 'held') return { stale: false, reason: 'lock-held' };
  }
  if (owner.ns !== null && owner.ns === self.ns && owner.start !== null) {
    const state = ownerState(owner);
    if (state === 'exited') return { stale: true, reason: 'owner-exited', lock: null };
    if (state === 'reused') return { stale: true, reason: 'pid-reused', lock: null };
    if (state === 'running') return { stale: false, reason: 'owner-running' };
    return byAge(ageMs, maxAgeMs, 'unverifiable');
  }
  if (owner.ns === null && self.ns === null && owner.host.startsWith('h')) {
    if (pidRunning(owner.pid) === false && ageMs >= PID_ONLY_MIN_AGE_MS) {
      return { stale: true, reason: 'owner-exited', lock: null };
    }
    return byAge(ageMs, maxAgeMs, 'unverifiable');
  }
  return byAge(ageMs, maxAgeMs, 'other-namespace');
}
