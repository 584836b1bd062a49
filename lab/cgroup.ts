/**
 * A throw-away child memory cgroup per run: created with a limit, joined by the job process before
 * it allocates anything, and always removed afterwards — also on failure, Ctrl-C, SIGTERM, SIGHUP
 * and SIGQUIT (see {@link removeAllCgroupsSync}).
 *
 * @module
 */
import { readFileSync, rmdirSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateMemoryCgroup } from '../src/linux/index.js';
import {
  type CgroupFs,
  lineageInGroup,
  locateV2Group,
  prepareV2,
  realCgroupFs,
} from './cgroup-v2.js';

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

/** Options of {@link probeCgroupSupport}. */
export interface ProbeOptions {
  /** cgroup v2: name of the leaf group the lab moves itself into (see `cgroup-v2.ts`). */
  leafName: string;
  /** File operations for the v2 setup (the tests pass a model of the kernel). */
  fs?: CgroupFs;
  /** Where `/proc` is, for the v2 setup. @default '/proc' */
  procRoot?: string;
}

let releaseV2: (() => string[]) | null = null;

/**
 * Find out whether this process may create child memory cgroups, and where: under its own memory
 * group on v1 (nesting keeps any limit the container already has); on v2 under its own group once
 * that group delegates the memory controller, which may take moving the lab into a leaf child
 * ({@link prepareV2}). Whatever that changed is undone by {@link releaseCgroupSupport} (and by
 * {@link removeAllCgroupsSync} on the signal paths).
 */
export async function probeCgroupSupport(o: ProbeOptions): Promise<CgroupSupport> {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `memory cgroups need Linux, this is ${process.platform}` };
  }
  let loc: Awaited<ReturnType<typeof locateMemoryCgroup>>;
  try {
    loc = await locateMemoryCgroup('/', readText);
  } catch (err) {
    return { ok: false, reason: `cannot locate this process's cgroup: ${errText(err)}` };
  }
  if (loc?.version === 1) return { ok: true, version: 1, parentDir: loc.dir };
  // v2 (locateMemoryCgroup returns null for the root group, which the lab can still use).
  const fs = o.fs ?? realCgroupFs;
  const procRoot = o.procRoot ?? '/proc';
  const group = locateV2Group(fs, procRoot);
  if (group === null) {
    return { ok: false, reason: 'no cgroup memory controller (v1 or v2) is available here' };
  }
  const setup = prepareV2({
    fs,
    group,
    movable: lineageInGroup(fs, process.pid, procRoot),
    leafName: o.leafName,
  });
  if (!setup.ok) return setup;
  releaseV2 = setup.revert;
  return { ok: true, version: 2, parentDir: setup.parentDir };
}

/**
 * Undo what {@link probeCgroupSupport} changed on cgroup v2 (after the job groups are gone).
 * Synchronous and idempotent. Returns what could not be undone.
 */
export function releaseCgroupSupport(): string[] {
  const release = releaseV2;
  releaseV2 = null;
  return release === null ? [] : release();
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
    await removeCgroupDir(dir);
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

/**
 * Remove a cgroup directory we made. rmdir is refused with EBUSY for a short while after the last
 * task has exited (the kernel finishes tearing the task down asynchronously): retry every 20 ms,
 * at most `tries` times; a directory already gone is fine. Used by the lab, the benchmarks and
 * the tests.
 */
export async function removeCgroupDir(dir: string, tries = 100): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (i >= tries || code !== 'EBUSY') throw err;
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
 * signal handlers and `process.on('exit')`, where nothing asynchronous runs any more. Then undo
 * the cgroup v2 setup ({@link releaseCgroupSupport}). Returns what could not be removed or undone.
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
  // The v2 delegation can only be undone once no job group is left under the lab's group.
  if (failed.length === 0) failed.push(...releaseCgroupSupport());
  return failed;
}

/** Directories created by {@link createCgroup} and not removed yet. */
export function liveCgroups(): string[] {
  return [...live];
}
