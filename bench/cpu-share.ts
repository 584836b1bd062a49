/**
 * A cpu cgroup of its own for a benchmark's timed part, so it is measured as a service in a
 * container is scheduled: with its own CPU share, not at equal weight with every other process
 * of a shared machine. The group is created under this process's own cpu cgroup (cgroup v1
 * `cpu.shares` or v2 `cpu.weight`, whichever hierarchy holds the cpu controller), a child
 * process joins it, and the group is removed once that child has exited. Only the group created
 * here is ever written to or removed.
 *
 * @module
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmdirSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeCgroupDir } from '../lab/cgroup.js';
import { parseCgroupMounts, parseProcCgroup } from '../src/memory/cgroup-locate.js';

// The largest weight each version takes: the timed part gets the CPU it asks for, as a container
// whose request covers the machine's cores does, while the other processes keep theirs.
const V1_SHARES = 262_144;
const V2_WEIGHT = 10_000;

interface Parent {
  version: 1 | 2;
  dir: string;
}

function hierarchyDir(mountpoint: string, root: string, cgPath: string): string {
  if (root === '/') return path.join(mountpoint, cgPath);
  if (cgPath === root || cgPath.startsWith(`${root}/`)) {
    return path.join(mountpoint, cgPath.slice(root.length));
  }
  return mountpoint; // a cgroup namespace: the mount's root is this process's group
}

/** This process's group in the hierarchy that holds the cpu controller, or why there is none. */
async function parentGroup(): Promise<Parent | string> {
  let lines: ReturnType<typeof parseProcCgroup>;
  let mounts: ReturnType<typeof parseCgroupMounts>;
  try {
    lines = parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8'));
    mounts = parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
  } catch (err) {
    return `no /proc cgroup information (${(err as Error).message})`;
  }
  const v1 = lines.find((l) => l.controllers.includes('cpu'));
  if (v1 !== undefined) {
    const m = mounts.find((e) => e.fstype === 'cgroup' && e.superOptions.includes('cpu'));
    if (m === undefined) return 'the cgroup v1 cpu hierarchy is not mounted';
    return { version: 1, dir: hierarchyDir(m.mountpoint, m.root, v1.path) };
  }
  const v2 = lines.find((l) => l.controllers.length === 0);
  const m = mounts.find((e) => e.fstype === 'cgroup2');
  if (v2 === undefined || m === undefined) return 'no cgroup hierarchy holds the cpu controller';
  const dir = hierarchyDir(m.mountpoint, m.root, v2.path);
  const enabled = await readFile(path.join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '');
  if (!enabled.split(/\s+/).includes('cpu')) {
    // Enabling it would change a group this benchmark did not create.
    return `the cgroup v2 cpu controller is not enabled for the children of ${dir}`;
  }
  return { version: 2, dir };
}

/** What {@link runInCpuShare} returns: the child's JSON, and how its run was scheduled. */
export interface SharedRun<T> {
  value: T;
  /** One line for the output: the group and its weight, or why there was none. */
  method: string;
}

async function createGroup(parent: Parent): Promise<{ dir: string; file: string; value: number }> {
  const dir = path.join(
    parent.dir,
    `slabio-bench-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(dir);
  const [file, value] =
    parent.version === 1 ? ['cpu.shares', V1_SHARES] : ['cpu.weight', V2_WEIGHT];
  try {
    await writeFile(path.join(dir, file), String(value));
  } catch (err) {
    await rmdir(dir);
    throw err;
  }
  return { dir, file, value };
}

/** Run `node [nodeArgs] script args` and parse the JSON it prints last; kill it on `signal`. */
function runNode<T>(script: string, args: string[], nodeArgs: string[], signal: AbortSignal) {
  return new Promise<T>((resolve, reject) => {
    execFile(
      process.execPath,
      [...nodeArgs, script, ...args],
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000, killSignal: 'SIGKILL', signal },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(Object.assign(err, { stderr }));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T);
        } catch (parseError) {
          reject(parseError);
        }
      },
    );
  });
}

/**
 * Run a benchmark child (`node [nodeArgs] script args --cgroup <dir>`; it calls
 * {@link joinCpuShare} first) in a cpu cgroup created for it with the largest CPU weight, and
 * remove the group when the child has exited — on success, failure, and SIGINT/SIGTERM of this
 * process (the child is killed first). Where that is not permitted, or `enabled` is false, the
 * child runs without `--cgroup` and `method` says why.
 */
export async function runInCpuShare<T>(
  enabled: boolean,
  script: string,
  args: string[],
  nodeArgs: string[] = [],
): Promise<SharedRun<T>> {
  const controller = new AbortController();
  const plain = async (reason: string): Promise<SharedRun<T>> => ({
    value: await runNode<T>(script, args, nodeArgs, controller.signal),
    method: `no cpu cgroup: ${reason}; the run competes at equal weight with every other process`,
  });
  if (!enabled) return plain('--no-cgroup');
  if (process.platform !== 'linux') return plain(`not Linux (${process.platform})`);
  const parent = await parentGroup();
  if (typeof parent === 'string') return plain(parent);
  let group: Awaited<ReturnType<typeof createGroup>>;
  try {
    group = await createGroup(parent);
  } catch (err) {
    return plain(`cannot create a cpu cgroup under ${parent.dir} (${(err as Error).message})`);
  }
  const { dir, file, value } = group;
  let stopped: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    stopped = signal;
    controller.abort();
  };
  // A synchronous last resort if this process exits some other way with the group still there.
  const onExit = (): void => {
    try {
      rmdirSync(dir);
    } catch {}
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    const result = await runNode<T>(
      script,
      [...args, '--cgroup', dir],
      nodeArgs,
      controller.signal,
    );
    return {
      value: result,
      method: `cpu cgroup v${parent.version} ${dir} with ${file} ${value}: the run has its own CPU share, as in a container; the other processes keep theirs`,
    };
  } finally {
    await removeCgroupDir(dir, 250);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    if (stopped !== undefined) process.exit(128 + (stopped === 'SIGINT' ? 2 : 15));
  }
}

/**
 * In the child: move this whole process (every thread, and every thread it starts later) into
 * the group. Throws when the kernel refuses, so a run is never reported under a method it did
 * not use.
 */
export async function joinCpuShare(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'cgroup.procs'), String(process.pid));
  const own = await readFile('/proc/self/cgroup', 'utf8');
  if (!own.includes(path.basename(dir))) throw new Error(`did not join the cpu cgroup ${dir}`);
}
