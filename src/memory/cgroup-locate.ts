/**
 * Finds the memory cgroup of the current process from `/proc/self/cgroup` and
 * `/proc/self/mountinfo`, for cgroup v1, v2 and hybrid hosts.
 *
 * @module
 */
import path from 'node:path';

/** Reads a whole text file; rejects with the fs error (`code: 'ENOENT'` …) when it cannot. */
export type ReadTextFile = (file: string, signal?: AbortSignal) => Promise<string>;

/** Where the memory controller's files for this process live. */
export interface CgroupLocation {
  /** Cgroup version of the hierarchy that holds the memory controller. */
  version: 1 | 2;
  /** The cgroup path as the kernel names it, e.g. `/kubepods/pod1/abc` or `/`. */
  path: string;
  /** The directory to read `memory.*` files from (under `root`). */
  dir: string;
  /** The directory the hierarchy is mounted at (under `root`); ancestors are walked up to it. */
  mountDir: string;
}

interface MountEntry {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  );
}

/** Parse `/proc/self/mountinfo` (proc(5)) keeping only cgroup and cgroup2 mounts. */
export function parseCgroupMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    const fstype = fields[dash + 1] as string;
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      root: unescapeMount(fields[3] as string),
      mountpoint: unescapeMount(fields[4] as string),
      fstype,
      superOptions: (fields[dash + 3] as string).split(','),
    });
  }
  return out;
}

/** Parse `/proc/self/cgroup` (cgroups(7)): `hierarchy-ID:controller-list:path` per line. */
export function parseProcCgroup(text: string): Array<{ controllers: string[]; path: string }> {
  const out: Array<{ controllers: string[]; path: string }> = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    out.push({ controllers: list === '' ? [] : list.split(','), path: line.slice(second + 1) });
  }
  return out;
}

// Map a cgroup path onto the mount that exposes it. A mount whose root is not a prefix of the
// path (a cgroup namespace shows "/" or "/.." paths) is taken as the group itself: inside a
// container the namespace root *is* the container's cgroup.
function resolveDir(fsRoot: string, mount: MountEntry, cgPath: string): string {
  const base = mountPath(fsRoot, mount);
  if (mount.root === '/') return noTrailingSlash(path.join(base, cgPath));
  if (cgPath === mount.root || cgPath.startsWith(`${mount.root}/`)) {
    return noTrailingSlash(path.join(base, cgPath.slice(mount.root.length)));
  }
  return base;
}

// path.join keeps the slash of a "/" cgroup path ("/sys/fs/cgroup/"), and the group must compare
// equal to its mount: that is how the root group (no memory.current) and a cgroup namespace's top
// (where the ancestor walk stops) are recognised.
function noTrailingSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function mountPath(fsRoot: string, mount: MountEntry): string {
  return noTrailingSlash(path.join(fsRoot, mount.mountpoint));
}

function rootScore(m: MountEntry, cgPath: string): number {
  if (m.root === '/') return 1;
  return cgPath === m.root || cgPath.startsWith(`${m.root}/`) ? m.root.length + 1 : 0;
}

function pickMount(mounts: MountEntry[], cgPath: string): MountEntry | undefined {
  // Several bind mounts of one hierarchy can exist: prefer the one whose root covers the path.
  return [...mounts].sort((a, b) => rootScore(b, cgPath) - rootScore(a, cgPath))[0];
}

/**
 * Locate the memory cgroup of this process. Returns `null` when there is none (not Linux, no
 * memory controller mounted, or a v2 process sitting in the root cgroup which has no limit).
 *
 * v1 wins on hybrid hosts when it holds the memory controller, because a controller can be bound
 * to one hierarchy only; the v2 hierarchy is used when its group lists `memory` in
 * `cgroup.controllers`.
 *
 * @example
 * ```ts
 * const loc = await locateMemoryCgroup('/', (f) => readFile(f, 'utf8'));
 * ```
 */
export async function locateMemoryCgroup(
  fsRoot: string,
  read: ReadTextFile,
  signal?: AbortSignal,
): Promise<CgroupLocation | null> {
  let procCgroup: string;
  let mountinfo: string;
  try {
    procCgroup = await read(path.join(fsRoot, 'proc/self/cgroup'), signal);
    mountinfo = await read(path.join(fsRoot, 'proc/self/mountinfo'), signal);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (isMissing(err)) return null;
    throw err;
  }
  const lines = parseProcCgroup(procCgroup);
  const mounts = parseCgroupMounts(mountinfo);

  const v1Line = lines.find((l) => l.controllers.includes('memory'));
  if (v1Line !== undefined) {
    const m = pickMount(
      mounts.filter((e) => e.fstype === 'cgroup' && e.superOptions.includes('memory')),
      v1Line.path,
    );
    if (m !== undefined) {
      return {
        version: 1,
        path: v1Line.path,
        dir: resolveDir(fsRoot, m, v1Line.path),
        mountDir: mountPath(fsRoot, m),
      };
    }
  }

  const v2Line = lines.find((l) => l.controllers.length === 0);
  const v2Mount =
    v2Line === undefined
      ? undefined
      : pickMount(
          mounts.filter((e) => e.fstype === 'cgroup2'),
          v2Line.path,
        );
  if (v2Line === undefined || v2Mount === undefined) return null;
  const dir = resolveDir(fsRoot, v2Mount, v2Line.path);
  const mountDir = mountPath(fsRoot, v2Mount);
  try {
    const controllers = await read(path.join(dir, 'cgroup.controllers'), signal);
    if (!controllers.split(/\s+/).includes('memory')) return null;
    // The root cgroup lists every controller but has no memory.current/memory.max.
    if (dir === mountDir) await read(path.join(dir, 'memory.current'), signal);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (isMissing(err)) return null;
    throw err;
  }
  return { version: 2, path: v2Line.path, dir, mountDir };
}

/** True for fs errors that mean "this file does not exist here". */
export function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
