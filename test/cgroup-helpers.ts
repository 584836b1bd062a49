// Helpers for the cgroup tests: fixture trees with files replaced, a throw-away live memory
// cgroup (v1 here, v2 where the host has it) and a child process inside it. Not a test file.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeCgroupDir } from '../lab/cgroup.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/cgroup/', import.meta.url));

/** Path of a fixture tree (`v1`, `v2`, `host` …) or of a file inside one. */
export const fixture = (name: string): string => path.join(FIXTURES, name);

/**
 * A `readFile` over a fixture tree with some files replaced: the first entry whose key ends the
 * path wins; `null` makes the file missing (`ENOENT`), an Error is thrown as it is.
 */
export function overlay(overrides: Record<string, string | null | Error>) {
  return async (file: string): Promise<string> => {
    for (const [suffix, text] of Object.entries(overrides)) {
      if (!file.endsWith(suffix)) continue;
      if (text === null) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      if (text instanceof Error) throw text;
      return text;
    }
    return readFile(file, 'utf8');
  };
}

export interface TestCgroup {
  version: 1 | 2;
  dir: string;
  /** Remove the group; kills nothing, call after the children have exited. */
  remove(): Promise<void>;
}

export { removeCgroupDir };

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

/**
 * Create `slabio-test-<pid>-<suffix>` with a memory limit, or return the reason it cannot be done
 * here (not Linux, not root, no writable memory controller).
 */
export async function createTestCgroup(
  suffix: string,
  limitBytes: number,
): Promise<TestCgroup | string> {
  if (process.platform !== 'linux') return `needs Linux cgroups, running on ${process.platform}`;
  const name = `slabio-test-${process.pid}-${suffix}`;
  let version: 1 | 2;
  let dir: string;
  try {
    await access(path.join(V1, 'memory.usage_in_bytes'));
    version = 1;
    dir = path.join(V1, name);
  } catch {
    try {
      const controllers = await readFile(path.join(V2, 'cgroup.subtree_control'), 'utf8');
      if (!controllers.includes('memory'))
        return 'no cgroup memory controller is mounted or delegated here';
      version = 2;
      dir = path.join(V2, name);
    } catch {
      return 'no cgroup memory controller is mounted here';
    }
  }
  try {
    await mkdir(dir);
  } catch (err) {
    return `cannot create a cgroup at ${dir}: ${(err as Error).message}`;
  }
  const remove = () => removeCgroupDir(dir, 50);
  try {
    await writeFile(
      path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'),
      String(limitBytes),
    );
  } catch (err) {
    await remove();
    return `cannot set a memory limit on ${dir}: ${(err as Error).message}`;
  }
  return { version, dir, remove };
}

/**
 * Run an ES-module snippet in a child node process that first moves itself into `dir`. The child
 * gets `CGROUP_DIR` and `SLABIO_MEMORY` (file URL of dist/src/memory/index.js) in its environment.
 */
export function spawnInCgroup(
  dir: string,
  code: string,
  env: Record<string, string> = {},
): ChildProcess {
  const join = `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.CGROUP_DIR + '/cgroup.procs', String(process.pid));\n`;
  return spawn(process.execPath, ['--input-type=module', '-e', join + code], {
    env: {
      ...process.env,
      ...env,
      CGROUP_DIR: dir,
      SLABIO_MEMORY: new URL('../src/memory/index.js', import.meta.url).href,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Wait for a child to exit; returns its stdout, throws with stderr on a non-zero exit. */
export async function collect(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`child exited with ${code}: ${err}`);
  return out;
}

/** Kill a child if it is still running and wait until it is gone. */
export async function reap(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill('SIGKILL');
  await closed;
}
