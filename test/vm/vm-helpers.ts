// Helpers for the checks that run inside the cgroup v2 VM (test/vm/README.md): the kernel's own
// figures for a group, nested groups, and idle "holder" processes that keep a known amount of
// anonymous memory and page cache charged to a group. Not a test file.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { removeCgroupDir } from '../cgroup-helpers.js';
import { MiB } from '../helpers.js';

/** `false` inside the VM, else the reason the check skips (for node:test's `skip`). */
export const vmSkip: string | false =
  process.env.SLABIO_VM_GUEST === '1' ? false : 'runs inside the cgroup v2 VM: npm run test:vm';

/** The ext4 scratch disk of the VM: page cache is only charged as file cache on a block fs. */
export const scratchDir = (): string => process.env.SLABIO_VM_SCRATCH ?? '/scratch';

export const CGROUP_ROOT = '/sys/fs/cgroup';
const INDEX = new URL('../../src/index.js', import.meta.url).href;

/** `memory.stat` as numbers. */
export async function memoryStat(dir: string): Promise<Record<string, number>> {
  const text = await readFile(path.join(dir, 'memory.stat'), 'utf8');
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k as string, Number(v)]),
  );
}

/** The kernel's figures for a group, and cadvisor's working set computed from them. */
export async function kernelFigures(dir: string) {
  const [current, stat] = await Promise.all([
    readFile(path.join(dir, 'memory.current'), 'utf8').then(Number),
    memoryStat(dir),
  ]);
  const inactiveFile = stat.inactive_file as number;
  return { current, inactiveFile, file: stat.file as number, workingSet: current - inactiveFile };
}

/** Assert-style check: `|actual − expected| ≤ fraction × expected`. */
export function closeTo(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= fraction * Math.abs(expected);
}

/**
 * Write `bytes` to a new file on the scratch disk and drop it from the page cache, so that the
 * process that reads it next is charged for its cache (left cached, its pages would stay charged
 * to the writer's group).
 */
export async function makeColdFile(name: string, bytes: number): Promise<string> {
  const file = path.join(scratchDir(), name);
  const chunk = Buffer.alloc(MiB, 7);
  const fh = await open(file, 'w');
  try {
    for (let i = 0; i < bytes / MiB; i++) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await dropAllCaches();
  return file;
}

/** Drop the clean page cache of the whole VM (`vm.drop_caches = 1`): it is our own machine. */
export async function dropAllCaches(): Promise<void> {
  await writeFile('/proc/sys/vm/drop_caches', '1');
}

/** A group made for one check; {@link VmGroup.remove} removes it and any children it was given. */
export interface VmGroup {
  dir: string;
  /** The path as `/proc/<pid>/cgroup` names it. */
  path: string;
  child(name: string, limit?: number): Promise<VmGroup>;
  remove(): Promise<void>;
}

/** Create `<parent>/slabio-test-<pid>-<suffix>` with `memory.max` (or `max` when omitted). */
export async function makeGroup(suffix: string, limit?: number, parent = CGROUP_ROOT) {
  const name = parent === CGROUP_ROOT ? `slabio-test-${process.pid}-${suffix}` : suffix;
  const dir = path.join(parent, name);
  await mkdir(dir);
  const children: VmGroup[] = [];
  const group: VmGroup = {
    dir,
    path: `/${path.relative(CGROUP_ROOT, dir)}`,
    async child(childName, childLimit) {
      await writeFile(path.join(dir, 'cgroup.subtree_control'), '+memory');
      const c = await makeGroup(childName, childLimit, dir);
      children.push(c);
      return c;
    },
    async remove() {
      for (const c of children.splice(0)) await c.remove();
      await removeCgroupDir(dir, 100);
    },
  };
  try {
    if (limit !== undefined) await writeFile(path.join(dir, 'memory.max'), String(limit));
  } catch (err) {
    await removeCgroupDir(dir, 100);
    throw err;
  }
  return group;
}

/** Groups named `slabio-test-<pid>-…` of this process still under the cgroup2 mount. */
export async function leftoverGroups(): Promise<string[]> {
  return (await readdir(CGROUP_ROOT)).filter((n) => n.startsWith(`slabio-test-${process.pid}-`));
}

/** How a holder enters its group. */
export type Entry = 'join' | 'namespace';

/** Options of {@link startHolder}. */
export interface HolderOptions {
  /** Anonymous memory to allocate and touch. */
  anonBytes: number;
  /** A file on the scratch disk to read once (inactive file cache) or twice (active). */
  file?: string;
  reads?: 1 | 2;
  /**
   * `'join'`: write its pid to the group's `cgroup.procs`. `'namespace'`: a container's view, as a
   * runtime sets it up: join, then `unshare --cgroup --mount`, and mount cgroup2 afresh (mounting
   * over the old mount fails with EBUSY, so unmount it first).
   */
  entry?: Entry;
  /** Mount options of the namespace's cgroup2 mount (`'ro'`: as Docker mounts it). */
  mountOptions?: string;
  /**
   * The module to run instead of the default holder; it gets the same environment (`FILE`,
   * `READS`, `ANON_BYTES`, `SLABIO_INDEX`) and must print one JSON line, then wait for stdin.
   */
  script?: string;
}

/** An idle process in a group; `report` is what `readCgroupMemory()` said inside it. */
export interface Holder {
  child: ChildProcess;
  report: Record<string, unknown> & { procSelfCgroup: string };
  stop(): Promise<void>;
}

/** Reads `FILE` `READS` times and allocates `ANON_BYTES` (the start of every holder script). */
export const HOLDER_FILL = `
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
const e = process.env;
if (e.FILE) {
  const chunk = Buffer.alloc(1 << 20, 7);
  for (let pass = 0; pass < Number(e.READS); pass++) {
    const r = openSync(e.FILE, 'r');
    while (readSync(r, chunk, 0, chunk.length, null) > 0);
    closeSync(r);
  }
}
globalThis.keep = Buffer.alloc(Number(e.ANON_BYTES), 1);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

// Fills, then prints its own view and waits for stdin to end.
const HOLDER = `${HOLDER_FILL}
const { readCgroupMemory } = await import(process.env.SLABIO_INDEX);
const m = await readCgroupMemory();
const procSelfCgroup = readFileSync('/proc/self/cgroup', 'utf8').trim();
process.stdout.write(JSON.stringify({ ...m, procSelfCgroup }) + '\\n');
`;

/**
 * Start an idle node process inside `group` holding memory; resolves once it has printed its own
 * `readCgroupMemory()` and gone idle. Stop it with `stop()` before removing the group.
 */
export async function startHolder(group: VmGroup, o: HolderOptions): Promise<Holder> {
  // A group removed earlier hands its cache to its parent: drop it, so this holder is charged.
  if (o.file !== undefined) await dropAllCaches();
  const node = `exec "${process.execPath}" --input-type=module -e "$HOLDER"`;
  const enter =
    o.entry === 'namespace'
      ? `exec unshare --cgroup --mount sh -c 'umount ${CGROUP_ROOT} && mount -t cgroup2 ${o.mountOptions === undefined ? '' : `-o ${o.mountOptions} `}cgroup2 ${CGROUP_ROOT} && ${node.replaceAll("'", "'\\''")}'`
      : node;
  const child = spawn('sh', ['-c', `echo $$ > "${group.dir}/cgroup.procs" && ${enter}`], {
    env: {
      ...process.env,
      HOLDER: o.script ?? HOLDER,
      SLABIO_INDEX: INDEX,
      ANON_BYTES: String(o.anonBytes),
      FILE: o.file ?? '',
      READS: String(o.reads ?? 1),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = once(child, 'close');
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await closed;
    clearTimeout(timer);
  };
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    once(child, 'close').then(([code]) => {
      throw new Error(`holder exited with ${code} before reporting: ${stderr}`);
    }),
  ]);
  return { child, report: JSON.parse(first), stop };
}
