// readCgroupMemory against a live cgroup v2 kernel (Debian's 6.1 in the VM of test/vm/run.sh): the
// working set must be the kernel's memory.current − inactive_file within 1%, from inside the
// group, from a container's view of it (cgroup namespace) and under a limit set on a parent only.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CgroupMemory, readCgroupMemory } from '../../src/memory/index.js';
import { MiB } from '../helpers.js';
import {
  closeTo,
  kernelFigures,
  leftoverGroups,
  makeColdFile,
  makeGroup,
  startHolder,
  vmSkip,
} from './vm-helpers.js';

const FILE_BYTES = 32 * MiB;
const ANON_BYTES = 48 * MiB;

// What the tests compare: the snapshot's working set with the kernel's files read right after it
// (the holder is idle, so they hardly move), and that inactive file cache was really subtracted.
async function assertWorkingSet(t: { diagnostic(s: string): void }, m: CgroupMemory, dir: string) {
  const k = await kernelFigures(dir);
  t.diagnostic(
    `measured: slabio working set ${(m.workingSet / MiB).toFixed(2)} MiB, kernel memory.current − inactive_file ${(k.workingSet / MiB).toFixed(2)} MiB (inactive_file ${(k.inactiveFile / MiB).toFixed(2)} MiB)`,
  );
  assert.ok(k.inactiveFile >= FILE_BYTES / 2, `inactive_file ${k.inactiveFile} holds the file`);
  assert.ok(
    closeTo(m.workingSet, k.workingSet, 0.01),
    `working set ${m.workingSet} vs kernel ${k.workingSet}`,
  );
  assert.ok(closeTo(m.inactiveFile, k.inactiveFile, 0.01), `inactive_file ${m.inactiveFile}`);
  assert.equal(m.workingSet, Math.max(0, m.usage - m.inactiveFile));
}

describe('readCgroupMemory on cgroup v2 (live)', { skip: vmSkip }, () => {
  let file = '';
  before(async () => {
    file = await makeColdFile(`slabio-vm-${process.pid}-cgroup.bin`, FILE_BYTES);
  });
  after(async () => {
    await rm(file, { force: true });
    assert.deepEqual(await leftoverGroups(), []);
  });

  it('a plain group: own view and cgroupDir agree with memory.current − inactive_file', async (t) => {
    const g = await makeGroup('plain', 512 * MiB);
    const h = await startHolder(g, { anonBytes: ANON_BYTES, file });
    try {
      const own = h.report as unknown as CgroupMemory;
      assert.equal(h.report.procSelfCgroup, `0::${g.path}`);
      assert.equal(own.source, 'cgroup-v2');
      assert.equal(own.path, g.path);
      assert.equal(own.dir, g.dir);
      assert.equal(own.limit, 512 * MiB);
      assert.ok(own.pressure !== null, 'PSI: memory.pressure is read');
      const meminfo = await readFile('/proc/meminfo', 'utf8');
      assert.equal(own.hostMemory, Number(/MemTotal:\s+(\d+) kB/.exec(meminfo)?.[1]) * 1024);
      await assertWorkingSet(t, own, g.dir);
      await assertWorkingSet(t, await readCgroupMemory({ cgroupDir: g.dir }), g.dir);
    } finally {
      await h.stop();
      await g.remove();
    }
  });

  it("a container's view (cgroup namespace): the group is the mount's top", async (t) => {
    const g = await makeGroup('container', 384 * MiB);
    const h = await startHolder(g, { anonBytes: ANON_BYTES, file, entry: 'namespace' });
    try {
      const own = h.report as unknown as CgroupMemory;
      assert.equal(h.report.procSelfCgroup, '0::/');
      assert.equal(own.source, 'cgroup-v2');
      assert.equal(own.path, '/');
      assert.equal(own.dir, '/sys/fs/cgroup');
      assert.equal(own.limit, 384 * MiB, "the group's own memory.max, at the mount's top");
      await assertWorkingSet(t, own, g.dir);
    } finally {
      await h.stop();
      await g.remove();
    }
  });

  it('a limit on the parent only is the effective limit of the leaf', async (t) => {
    const parent = await makeGroup('parent', 320 * MiB);
    try {
      const leaf = await parent.child('leaf');
      assert.equal((await readFile(path.join(leaf.dir, 'memory.max'), 'utf8')).trim(), 'max');
      const h = await startHolder(leaf, { anonBytes: ANON_BYTES, file });
      try {
        const own = h.report as unknown as CgroupMemory;
        assert.equal(own.path, leaf.path);
        assert.equal(own.limit, 320 * MiB);
        assert.equal(own.headroom, 320 * MiB - own.workingSet);
        await assertWorkingSet(t, own, leaf.dir);
      } finally {
        await h.stop();
      }
    } finally {
      await parent.remove();
    }
  });

  it('memory.high below memory.max', async (t) => {
    const g = await makeGroup('high', 512 * MiB);
    try {
      await writeFile(path.join(g.dir, 'memory.high'), String(256 * MiB));
      const high = Number(await readFile(path.join(g.dir, 'memory.high'), 'utf8'));
      const h = await startHolder(g, { anonBytes: ANON_BYTES, file });
      try {
        const m = await readCgroupMemory({ cgroupDir: g.dir });
        assert.equal(m.limit, 512 * MiB, 'memory.max stays the limit');
        await assertWorkingSet(t, m, g.dir);
        if ('high' in m) {
          assert.equal((m as { high: unknown }).high, high);
          t.diagnostic(`measured: high ${high} reported, as memory.high says`);
        } else {
          t.diagnostic(`memory.high (${high}) is not reported by readCgroupMemory yet`);
        }
        assert.ok(m.events !== null && typeof m.events.high === 'number');
      } finally {
        await h.stop();
      }
    } finally {
      await g.remove();
    }
  });

  it('the root group (no memory.current): host figures, not an error', async () => {
    // node's test runner starts this file in the VM's root cgroup.
    assert.equal((await readFile('/proc/self/cgroup', 'utf8')).trim(), '0::/');
    const m = await readCgroupMemory();
    assert.equal(m.source, 'host-meminfo');
    assert.equal(m.limit, null);
  });
});
