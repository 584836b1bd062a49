/**
 * cgroup v2 for the lab: give the job groups the memory controller without breaking the "no
 * internal processes" rule, and put everything back afterwards.
 *
 * On v2 a group can hand a controller to its children only by listing it in its own
 * `cgroup.subtree_control`, and the kernel refuses that (EBUSY) while the group itself holds
 * processes — except in the root group. The lab lives in such a group, together with the `npm` and
 * shell processes that started it. So, unless its group is the root or already delegates memory:
 *
 * 1. it checks that every process in its group is the lab or one of its ancestors (the
 *    `npm start` → sh → node chain, or a container's init that ran it); it never moves anyone
 *    else's process, and gives up with the reason if there are others;
 * 2. moves that chain into a leaf child `<group>/<prefix>-lab`;
 * 3. writes `+memory` to the group's `cgroup.subtree_control`, so the job groups it creates next to
 *    the leaf get `memory.max`;
 * 4. when the lab ends (also on a signal), writes `-memory`, moves the chain back and removes the
 *    leaf — in that order, because processes cannot join a group that delegates controllers.
 *
 * Every file operation goes through {@link CgroupFs}, synchronous on purpose: revert runs in signal
 * and `exit` handlers, where nothing asynchronous runs any more. The tests pass an in-memory model
 * of the kernel's rules, since the machine the lab was written on has no v2 memory controller.
 *
 * @module
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCgroupMounts, parseProcCgroup } from '../src/memory/cgroup-locate.js';

/** The file operations the v2 setup needs; errors carry `code` like node's fs errors. */
export interface CgroupFs {
  read(file: string): string;
  write(file: string, data: string): void;
  mkdir(dir: string): void;
  rmdir(dir: string): void;
}

/** The real file system. */
export const realCgroupFs: CgroupFs = {
  read: (file) => readFileSync(file, 'utf8'),
  write: (file, data) => writeFileSync(file, data),
  mkdir: (dir) => mkdirSync(dir),
  rmdir: (dir) => rmdirSync(dir),
};

/** This process's v2 group. */
export interface V2Group {
  /** Directory of the group under the cgroup2 mount. */
  dir: string;
  /** The real root cgroup (exempt from the no-internal-processes rule). */
  isRoot: boolean;
}

/** What {@link prepareV2} did: where job groups go, and how to undo it. */
export type V2Setup =
  | {
      ok: true;
      /** Create the job groups here. */
      parentDir: string;
      /** What was changed, for the notes (`[]` when nothing was). */
      changes: string[];
      /** Undo the changes; idempotent. Returns what could not be undone. */
      revert(): string[];
    }
  | { ok: false; reason: string };

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

/**
 * Find this process's group on the cgroup2 hierarchy, or `null` when there is none (no cgroup2
 * mount, or the process's `0::` line does not map onto it).
 */
export function locateV2Group(fs: CgroupFs, procRoot = '/proc'): V2Group | null {
  let line: { path: string } | undefined;
  let mount: ReturnType<typeof parseCgroupMounts>[number] | undefined;
  try {
    line = parseProcCgroup(fs.read(path.join(procRoot, 'self/cgroup'))).find(
      (l) => l.controllers.length === 0,
    );
    mount = parseCgroupMounts(fs.read(path.join(procRoot, 'self/mountinfo'))).find(
      (m) => m.fstype === 'cgroup2',
    );
  } catch {
    return null;
  }
  if (line === undefined || mount === undefined) return null;
  // Inside a cgroup namespace the path is relative to the namespace root, which is the mount.
  const rel =
    mount.root !== '/' && (line.path === mount.root || line.path.startsWith(`${mount.root}/`))
      ? line.path.slice(mount.root.length)
      : line.path;
  const dir = path.join(mount.mountpoint, rel).replace(/(.)\/+$/, '$1');
  // Only the real root lacks cgroup.type (a namespace root is an ordinary group to the kernel).
  let isRoot = false;
  try {
    fs.read(path.join(dir, 'cgroup.type'));
  } catch (err) {
    if (errCode(err) !== 'ENOENT') return null;
    isRoot = true;
  }
  return { dir, isRoot };
}

function v2PathOf(fs: CgroupFs, procRoot: string, pid: number): string | null {
  try {
    return (
      parseProcCgroup(fs.read(path.join(procRoot, String(pid), 'cgroup'))).find(
        (l) => l.controllers.length === 0,
      )?.path ?? null
    );
  } catch {
    return null;
  }
}

function parentPid(fs: CgroupFs, procRoot: string, pid: number): number {
  try {
    // stat is "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    const stat = fs.read(path.join(procRoot, String(pid), 'stat'));
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * `pid` and its ancestors that share its v2 group, nearest first: the processes the lab may move
 * because they are running it.
 */
export function lineageInGroup(fs: CgroupFs, pid: number, procRoot = '/proc'): number[] {
  const own = v2PathOf(fs, procRoot, pid);
  const out = [pid];
  for (let p = parentPid(fs, procRoot, pid); p > 0 && out.length < 64; ) {
    if (v2PathOf(fs, procRoot, p) !== own) break;
    out.push(p);
    p = parentPid(fs, procRoot, p);
  }
  return out;
}

function pidsIn(fs: CgroupFs, dir: string): number[] {
  return words(fs.read(path.join(dir, 'cgroup.procs'))).map(Number);
}

function moveAll(fs: CgroupFs, pids: number[], to: string): void {
  for (const pid of pids) {
    try {
      fs.write(path.join(to, 'cgroup.procs'), String(pid));
    } catch (err) {
      if (errCode(err) !== 'ESRCH') throw err; // exited meanwhile
    }
  }
}

/** Options of {@link prepareV2}. */
export interface PrepareV2Options {
  fs: CgroupFs;
  group: V2Group;
  /** The lab and its ancestors in the same group ({@link lineageInGroup}). */
  movable: number[];
  /** Name of the leaf child the lab moves into. */
  leafName: string;
}

/** Make the lab's v2 group delegate memory to the job groups; see the module comment. */
export function prepareV2(o: PrepareV2Options): V2Setup {
  const { fs, group } = o;
  const control = path.join(group.dir, 'cgroup.subtree_control');
  const nothing = (): string[] => [];
  let controllers: string[];
  let enabled: string[];
  try {
    controllers = words(fs.read(path.join(group.dir, 'cgroup.controllers')));
    enabled = words(fs.read(control));
  } catch (err) {
    return { ok: false, reason: `cannot read the cgroup v2 group ${group.dir} (${errCode(err)})` };
  }
  if (!controllers.includes('memory')) {
    return {
      ok: false,
      reason: `the cgroup v2 group ${group.dir} has no memory controller (its parent does not delegate it)`,
    };
  }
  if (enabled.includes('memory')) {
    return { ok: true, parentDir: group.dir, changes: [], revert: nothing };
  }
  const disable = (): void => fs.write(control, '-memory');

  if (group.isRoot) {
    // The root group may delegate while it holds processes.
    try {
      fs.write(control, '+memory');
    } catch (err) {
      return { ok: false, reason: `cannot enable memory in ${control} (${errCode(err)})` };
    }
    return revertible(group.dir, [`+memory in ${control}`], () => {
      disable();
    });
  }

  let others: number[];
  try {
    others = pidsIn(fs, group.dir).filter((p) => !o.movable.includes(p));
  } catch (err) {
    return { ok: false, reason: `cannot list the processes of ${group.dir} (${errCode(err)})` };
  }
  if (others.length > 0) {
    return {
      ok: false,
      reason:
        `the cgroup v2 group ${group.dir} also holds ${others.length} process(es) that are not the lab's ` +
        `(${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}), so it cannot delegate memory ` +
        '(no internal processes); the lab does not move other processes — start it in a group of its own, ' +
        'e.g. systemd-run --scope -p Delegate=yes npm start',
    };
  }
  const leaf = path.join(group.dir, o.leafName);
  try {
    fs.mkdir(leaf);
  } catch (err) {
    return { ok: false, reason: `cannot create the leaf group ${leaf} (${errCode(err)})` };
  }
  const undoLeaf = (): void => {
    moveAll(fs, pidsIn(fs, leaf), group.dir);
    fs.rmdir(leaf);
  };
  try {
    moveAll(fs, o.movable, leaf);
    fs.write(control, '+memory');
  } catch (err) {
    let left = '';
    try {
      undoLeaf();
    } catch (undoErr) {
      left = `; could not undo: ${leaf} (${errCode(undoErr)})`;
    }
    return {
      ok: false,
      reason: `cannot delegate memory from ${group.dir} to child groups (${errCode(err)})${left}`,
    };
  }
  return revertible(
    group.dir,
    [`moved pids ${o.movable.join(', ')} into ${leaf}`, `+memory in ${control}`],
    () => {
      disable();
      undoLeaf();
    },
  );
}

function revertible(parentDir: string, changes: string[], undo: () => void): V2Setup {
  let done = false;
  return {
    ok: true,
    parentDir,
    changes,
    revert(): string[] {
      if (done) return [];
      done = true;
      try {
        undo();
        return [];
      } catch (err) {
        return [`${changes.join('; ')} (undo failed: ${errCode(err)})`];
      }
    },
  };
}
