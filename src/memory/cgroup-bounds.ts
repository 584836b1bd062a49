/**
 * The cgroup v2 bounds in effect for a group: `memory.max` and `memory.high` of the group and
 * of every ancestor visible under the mount, and the throttle counter that belongs to the
 * effective `memory.high`.
 *
 * @module
 */
import path from 'node:path';
import type { CgroupLocation } from './cgroup-locate.js';
import { parseFlatKeyed, parseLimitFile } from './cgroup-parse.js';

/** Reads a file, `null` when it does not exist. */
export type ReadOptional = (file: string) => Promise<string | null>;

/** What {@link readV2Bounds} found; `null` fields mean "not set anywhere visible". */
export interface V2Bounds {
  /** Lowest `memory.max` from the group up to the mount. */
  limit: number | null;
  /** Lowest `memory.high` from the group up to the mount. */
  high: number | null;
  /**
   * `high` of `memory.events` in the group whose `memory.high` is `high`, when that is an
   * ancestor; `undefined` when `high` is the group's own or unset (the caller's own
   * `memory.events` answers then), `null` when the ancestor has no readable `memory.events`.
   */
  ancestorHighEvents: number | null | undefined;
}

/**
 * Walk from the group up to the mount and take the lowest `memory.max` and `memory.high`.
 *
 * Both bounds nest: the kernel charges a page to every ancestor, so a parent's `memory.max`
 * caps each child, and on the way back to user space it throttles the task for the worst
 * overage of `memory.high` among the group and its ancestors (`mem_find_max_overage`). The
 * root has neither file; in a cgroup namespace the mount is the group itself, so only its own
 * files are seen.
 *
 * The kernel records a `high` event in the group that is over its `memory.high` and in that
 * group's ancestors, never in its descendants: throttling by a parent's `memory.high` shows in
 * the parent's `memory.events`, not the child's. So when the lowest `memory.high` is an
 * ancestor's, that ancestor's counter is read too.
 */
export async function readV2Bounds(loc: CgroupLocation, read: ReadOptional): Promise<V2Bounds> {
  let limit: number | null = null;
  let high: number | null = null;
  let highDir: string | null = null;
  let dir = loc.dir;
  for (;;) {
    const maxFile = path.join(dir, 'memory.max');
    const highFile = path.join(dir, 'memory.high');
    const [maxText, highText] = await Promise.all([read(maxFile), read(highFile)]);
    const max = maxText === null ? null : parseLimitFile(maxText, maxFile, 2);
    if (max !== null && (limit === null || max < limit)) limit = max;
    const h = highText === null ? null : parseLimitFile(highText, highFile, 2);
    // Strictly lower only: on a tie the group nearest the caller owns the throttling.
    if (h !== null && (high === null || h < high)) {
      high = h;
      highDir = dir;
    }
    if (dir === loc.mountDir || path.dirname(dir) === dir || !dir.startsWith(loc.mountDir)) break;
    dir = path.dirname(dir);
  }
  let ancestorHighEvents: number | null | undefined;
  if (highDir !== null && highDir !== loc.dir) {
    const file = path.join(highDir, 'memory.events');
    const text = await read(file);
    ancestorHighEvents =
      text === null ? null : (parseFlatKeyed(text, file).counter('high') ?? null);
  }
  return { limit, high, ancestorHighEvents };
}
