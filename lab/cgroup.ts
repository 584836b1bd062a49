/**
 * A throw-away child memory cgroup per run: created with a limit, joined by the job process before
 * it allocates anything, and always removed afterwards — also on failure, Ctrl-C and SIGTERM (see
 * {@link removeAllCgroupsSync}).
 *
 * @module
 */
import { readFileSync, rmdirSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateMemoryCgroup } from '../src/memory/index.js';

/** Where child groups can be made, or why they cannot. */
export type CgroupSupport =
  | { ok: true; version: 1 | 2; parentDir: string }
  | { ok: false; reason: string };

/** A memory cgroup made for one run. */
export interface LabCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
  readonly limitBytes: number;
  /** The file a process writes its pid to in order to join (`cgroup.procs`). */
  readonly procsFile: string;
  /** Remove the group (retries while the kernel still reports it busy). Idempotent. */
  remove(): Promise<void>;
}

const live = new Set<string>();

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

const readText = (file: string, signal?: AbortSignal): Promise<string> =>
  readFile(file, signal === undefined ? { encoding: 'utf8' } : { encoding: 'utf8', signal });

/**
 * Find out whether this process may create child memory cgroups, and where: under its own memory
 * group on v1 (nesting keeps any limit the container already has), under its own v2 group when
 * that group delegates the memory controller to children.
 */
export async function probeCgroupSupport(): Promise<CgroupSupport> {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `memory cgroups need Linux, this is ${process.platform}` };
  }
  let loc: Awaited<ReturnType<typeof locateMemoryCgroup>>;
  try {
    loc = await locateMemoryCgroup('/', readText);
  } catch (err) {
    return { ok: false, reason: `cannot locate this process's cgroup: ${errText(err)}` };
  }
  if (loc === null) {
    return { ok: false, reason: 'no cgroup memory controller (v1 or v2) is available here' };
  }
  if (loc.version === 1) return { ok: true, version: 1, parentDir: loc.dir };
  // v2's "no internal processes" rule: a group can only hand memory to children if it enables
  // the controller in its subtree_control, which fails (EBUSY) while it holds processes itself.
  const control = path.join(loc.dir, 'cgroup.subtree_control');
  try {
    const enabled = await readText(control);
    if (!enabled.split(/\s+/).includes('memory')) await writeFile(control, '+memory');
  } catch (err) {
    return {
      ok: false,
      reason: `cgroup v2 group ${loc.dir} cannot delegate the memory controller to a child (${errText(err)})`,
    };
  }
  return { ok: true, version: 2, parentDir: loc.dir };
}

/**
 * Create `<parent>/<name>` with a hard memory limit and no swap (v1 `memory.limit_in_bytes`, v2
 * `memory.max` + `memory.swap.max = 0`). Returns the reason as a string when it cannot.
 */
export async function createCgroup(
  support: Extract<CgroupSupport, { ok: true }>,
  name: string,
  limitBytes: number,
): Promise<LabCgroup | string> {
  const dir = path.join(support.parentDir, name);
  try {
    await mkdir(dir);
  } catch (err) {
    return `cannot create the cgroup ${dir}: ${errText(err)}`;
  }
  live.add(dir);
  const remove = async (): Promise<void> => {
    await removeDir(dir);
    live.delete(dir);
  };
  try {
    if (support.version === 1) {
      await writeFile(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    } else {
      await writeFile(path.join(dir, 'memory.max'), String(limitBytes));
      // Without this a v2 host with swap would page the job out instead of OOM-killing it.
      await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => {});
    }
  } catch (err) {
    await remove();
    return `cannot set a memory limit on ${dir}: ${errText(err)}`;
  }
  return {
    version: support.version,
    dir,
    limitBytes,
    procsFile: path.join(dir, 'cgroup.procs'),
    remove,
  };
}

// rmdir is refused with EBUSY for a short while after the last task has exited (the kernel
// finishes tearing the task down asynchronously).
async function removeDir(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (i >= 100 || code !== 'EBUSY') throw err;
      await sleep(20);
    }
  }
}

/** Pids still in a group (empty when the group is gone). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Kill whatever is left in the groups this process created and remove them, synchronously: for
 * signal handlers and `process.on('exit')`, where nothing asynchronous runs any more.
 * Returns the directories that could not be removed.
 */
export function removeAllCgroupsSync(): string[] {
  const failed: string[] = [];
  for (const dir of live) {
    for (const pid of cgroupPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    let removed = false;
    for (let i = 0; i < 150 && !removed; i++) {
      try {
        rmdirSync(dir);
        removed = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') removed = true;
        // A killed task leaves the group a few ms later; block briefly, we are exiting anyway.
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    if (removed) live.delete(dir);
    else failed.push(dir);
  }
  return failed;
}

/** Directories created by {@link createCgroup} and not removed yet. */
export function liveCgroups(): string[] {
  return [...live];
}
