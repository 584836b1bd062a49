// The lab's cgroup v2 setup (lab/cgroup-v2.ts) against an in-memory model of the kernel's rules:
// the machine this was written on has no v2 memory controller, so the model enforces what the
// kernel would (cgroup-v2.rst: "no internal processes", controllers only from the parent's
// subtree_control, rmdir of busy groups) and the tests check that the lab works within them and
// leaves the tree exactly as it found it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  type CgroupFs,
  lineageInGroup,
  locateV2Group,
  prepareV2,
  type V2Setup,
} from '../lab/cgroup-v2.js';

const MOUNT = '/sys/fs/cgroup';

function fail(code: string, what: string): never {
  throw Object.assign(new Error(`${code}: ${what}`), { code });
}

interface Group {
  procs: Set<number>;
  subtree: Set<string>;
  memoryMax: string;
}

/** cgroup2 as the kernel enforces it, plus the /proc files the lab reads. */
class FakeKernel implements CgroupFs {
  readonly groups = new Map<string, Group>();
  readonly parents = new Map<number, number>();
  /** Called before each write; a test uses it to change the world in between. */
  beforeWrite: ((file: string, data: string) => void) | null = null;
  readonly #self: number;
  readonly #mountRoot: string;

  constructor(o: { self: number; mountRoot?: string; rootControllers?: string[] }) {
    this.#self = o.self;
    this.#mountRoot = o.mountRoot ?? '/';
    this.groups.set(MOUNT, {
      procs: new Set(),
      subtree: new Set(o.rootControllers ?? []),
      memoryMax: '',
    });
  }

  group(dir: string, subtree: string[] = []): this {
    this.groups.set(dir, { procs: new Set(), subtree: new Set(subtree), memoryMax: 'max' });
    return this;
  }

  proc(pid: number, ppid: number, dir: string): this {
    this.parents.set(pid, ppid);
    this.#g(dir).procs.add(pid);
    return this;
  }

  /** The whole tree, to compare before and after. */
  snapshot(): string {
    return JSON.stringify(
      [...this.groups].map(([d, g]) => [d, [...g.procs].sort(), [...g.subtree].sort()]).sort(),
    );
  }

  #g(dir: string): Group {
    return this.groups.get(dir) ?? fail('ENOENT', dir);
  }

  #controllers(dir: string): string[] {
    if (dir === MOUNT) return ['cpu', 'io', 'memory', 'pids'];
    return [...this.#g(path.dirname(dir)).subtree];
  }

  #where(pid: number): string | undefined {
    for (const [d, g] of this.groups) if (g.procs.has(pid)) return d;
    return undefined;
  }

  read(file: string): string {
    const pidFile = /^\/proc\/(self|\d+)\/(cgroup|stat|mountinfo)$/.exec(file);
    if (pidFile !== null) {
      const pid = pidFile[1] === 'self' ? this.#self : Number(pidFile[1]);
      if (pidFile[2] === 'mountinfo') {
        return `31 23 0:28 ${this.#mountRoot} ${MOUNT} rw,relatime - cgroup2 cgroup2 rw\n`;
      }
      const dir = this.#where(pid) ?? fail('ENOENT', file);
      if (pidFile[2] === 'stat') return `${pid} (node (x)) S ${this.parents.get(pid) ?? 0} 1 1\n`;
      const rel = dir.slice(MOUNT.length) || '/';
      return `0::${this.#mountRoot === '/' ? rel : path.join(this.#mountRoot, rel)}\n`;
    }
    const dir = path.dirname(file);
    const g = this.#g(dir);
    switch (path.basename(file)) {
      case 'cgroup.controllers':
        return `${this.#controllers(dir).join(' ')}\n`;
      case 'cgroup.subtree_control':
        return `${[...g.subtree].join(' ')}\n`;
      case 'cgroup.procs':
        return [...g.procs].map((p) => `${p}\n`).join('');
      case 'cgroup.type':
        return dir === MOUNT ? fail('ENOENT', file) : 'domain\n';
      case 'memory.max':
        return this.#controllers(dir).includes('memory')
          ? `${g.memoryMax}\n`
          : fail('ENOENT', file);
      default:
        return fail('ENOENT', file);
    }
  }

  write(file: string, data: string): void {
    this.beforeWrite?.(file, data);
    const dir = path.dirname(file);
    const g = this.#g(dir);
    const name = path.basename(file);
    if (name === 'cgroup.procs') {
      const pid = Number(data);
      const from = this.#where(pid) ?? fail('ESRCH', data);
      // No internal processes: a non-root group that delegates controllers takes no process.
      if (dir !== MOUNT && g.subtree.size > 0) fail('EBUSY', file);
      this.#g(from).procs.delete(pid);
      g.procs.add(pid);
    } else if (name === 'cgroup.subtree_control') {
      const m = /^([+-])(\w+)$/.exec(data.trim()) ?? fail('EINVAL', data);
      const ctl = m[2] as string;
      if (m[1] === '+') {
        if (!this.#controllers(dir).includes(ctl)) fail('ENOENT', file);
        if (dir !== MOUNT && g.procs.size > 0) fail('EBUSY', file);
        g.subtree.add(ctl);
      } else {
        for (const [d, c] of this.groups) {
          if (path.dirname(d) === dir && d !== dir && c.subtree.has(ctl)) fail('EBUSY', file);
        }
        g.subtree.delete(ctl);
      }
    } else if (name === 'memory.max') {
      if (!this.#controllers(dir).includes('memory')) fail('ENOENT', file);
      g.memoryMax = data;
    } else {
      fail('EACCES', file);
    }
  }

  mkdir(dir: string): void {
    this.#g(path.dirname(dir));
    if (this.groups.has(dir)) fail('EEXIST', dir);
    this.group(dir);
  }

  rmdir(dir: string): void {
    const g = this.#g(dir);
    const hasChild = [...this.groups.keys()].some((d) => d !== dir && path.dirname(d) === dir);
    if (g.procs.size > 0 || hasChild) fail('EBUSY', dir);
    this.groups.delete(dir);
  }
}

const CTR = `${MOUNT}/ctr`;

/** A container group holding init (1) → npm (10) → sh (11) → the lab (12). */
function container(): FakeKernel {
  return new FakeKernel({ self: 12, rootControllers: ['memory', 'pids'] })
    .group(CTR)
    .proc(1, 0, CTR)
    .proc(10, 1, CTR)
    .proc(11, 10, CTR)
    .proc(12, 11, CTR);
}

function expectOk(s: V2Setup): Extract<V2Setup, { ok: true }> {
  assert.ok(s.ok, s.ok ? '' : s.reason);
  return s;
}

/**
 * What the lab does with the setup: a job group with a limit next to the lab's, a job started
 * from the lab's group (`labDir`) that moves itself in, then teardown.
 */
function runJobIn(k: FakeKernel, parentDir: string, labDir: string): void {
  const job = path.join(parentDir, 'slabio-test-job');
  k.mkdir(job);
  k.write(path.join(job, 'memory.max'), String(64 << 20));
  assert.equal(k.read(path.join(job, 'memory.max')).trim(), String(64 << 20));
  k.proc(40, 12, labDir);
  k.write(path.join(job, 'cgroup.procs'), '40');
  // The job exits.
  k.groups.get(job)?.procs.delete(40);
  k.parents.delete(40);
  k.rmdir(job);
}

test('the model refuses what the old probe did: +memory in a group that holds processes', () => {
  const k = container();
  assert.throws(() => k.write(`${CTR}/cgroup.subtree_control`, '+memory'), { code: 'EBUSY' });
});

test('locateV2Group maps the 0:: line onto the cgroup2 mount and tells the real root apart', () => {
  const k = container();
  assert.deepEqual(locateV2Group(k), { dir: CTR, isRoot: false });
  const root = new FakeKernel({ self: 5 }).proc(5, 1, MOUNT);
  assert.deepEqual(locateV2Group(root), { dir: MOUNT, isRoot: true });
  // In a cgroup namespace the mount's root is the container's group; the path is under it.
  const ns = new FakeKernel({ self: 7, mountRoot: '/kubepods/pod1' }).group(CTR).proc(7, 1, CTR);
  assert.deepEqual(locateV2Group(ns), { dir: CTR, isRoot: false });
  const none = new FakeKernel({ self: 7 });
  assert.equal(locateV2Group(none), null, 'a process the model does not know has no 0:: line');
});

test('lineageInGroup follows parents while they share the group', () => {
  const k = container();
  assert.deepEqual(lineageInGroup(k, 12), [12, 11, 10, 1]);
  // A parent in another group ends the chain there.
  const k2 = new FakeKernel({ self: 12, rootControllers: ['memory'] })
    .group(CTR)
    .proc(1, 0, MOUNT)
    .proc(11, 1, CTR)
    .proc(12, 11, CTR);
  assert.deepEqual(lineageInGroup(k2, 12), [12, 11]);
});

test('a non-root group holding only the lab chain: leaf, +memory, job groups with limits, full revert', () => {
  const k = container();
  const before = k.snapshot();
  const s = expectOk(
    prepareV2({
      fs: k,
      group: { dir: CTR, isRoot: false },
      movable: lineageInGroup(k, 12),
      leafName: 'slabio-test-lab',
    }),
  );
  assert.equal(s.parentDir, CTR);
  assert.equal(s.changes.length, 2);
  assert.deepEqual(k.read(`${CTR}/cgroup.procs`), '', 'the group itself holds no process now');
  assert.match(k.read(`${CTR}/cgroup.subtree_control`), /memory/);
  runJobIn(k, CTR, `${CTR}/slabio-test-lab`);
  assert.deepEqual(s.revert(), []);
  assert.equal(k.snapshot(), before);
  assert.deepEqual(s.revert(), [], 'revert is idempotent');
  assert.equal(k.snapshot(), before);
});

test('a process that is not the lab’s keeps the group as it is: the lab says why and changes nothing', () => {
  const k = container().proc(50, 1, CTR);
  const before = k.snapshot();
  const s = prepareV2({
    fs: k,
    group: { dir: CTR, isRoot: false },
    movable: lineageInGroup(k, 12),
    leafName: 'slabio-test-lab',
  });
  assert.equal(s.ok, false);
  assert.match(s.ok ? '' : s.reason, /1 process\(es\) that are not the lab's \(50\)/);
  assert.equal(k.snapshot(), before);
});

test('a process that appears between the check and +memory: EBUSY, the move is undone', () => {
  const k = container();
  const before = k.snapshot();
  k.beforeWrite = (file, data) => {
    if (file.endsWith('subtree_control') && data === '+memory') k.proc(60, 1, CTR);
  };
  const s = prepareV2({
    fs: k,
    group: { dir: CTR, isRoot: false },
    movable: lineageInGroup(k, 12),
    leafName: 'slabio-test-lab',
  });
  assert.equal(s.ok, false);
  assert.match(s.ok ? '' : s.reason, /EBUSY/);
  k.beforeWrite = null;
  k.groups.get(CTR)?.procs.delete(60);
  k.parents.delete(60);
  assert.equal(k.snapshot(), before);
});

test('the root group may delegate while it holds processes: +memory, then -memory', () => {
  const k = new FakeKernel({ self: 12, rootControllers: ['pids'] }).proc(1, 0, MOUNT);
  k.proc(12, 1, MOUNT);
  const before = k.snapshot();
  const s = expectOk(
    prepareV2({
      fs: k,
      group: { dir: MOUNT, isRoot: true },
      movable: [12, 1],
      leafName: 'slabio-test-lab',
    }),
  );
  assert.equal(s.parentDir, MOUNT);
  assert.equal(k.groups.has(`${MOUNT}/slabio-test-lab`), false, 'no leaf needed at the root');
  runJobIn(k, MOUNT, MOUNT);
  assert.deepEqual(s.revert(), []);
  assert.equal(k.snapshot(), before);
});

test('memory already delegated: used as it is, nothing to revert', () => {
  const k = new FakeKernel({ self: 12, rootControllers: ['memory'] }).proc(12, 1, MOUNT);
  const before = k.snapshot();
  const s = expectOk(
    prepareV2({ fs: k, group: { dir: MOUNT, isRoot: true }, movable: [12], leafName: 'x' }),
  );
  assert.deepEqual(s.changes, []);
  assert.deepEqual(s.revert(), []);
  assert.equal(k.snapshot(), before);
});

test('no memory controller in the group: unconstrained with the reason, nothing touched', () => {
  const k = container();
  k.groups.get(MOUNT)?.subtree.delete('memory');
  const before = k.snapshot();
  const s = prepareV2({
    fs: k,
    group: { dir: CTR, isRoot: false },
    movable: lineageInGroup(k, 12),
    leafName: 'slabio-test-lab',
  });
  assert.equal(s.ok, false);
  assert.match(s.ok ? '' : s.reason, /no memory controller/);
  assert.equal(k.snapshot(), before);
});
