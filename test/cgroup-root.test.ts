import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCgroupMemory } from '../src/memory/index.js';
import { fixture, overlay } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

const CONTROLLERS = 'cpuset cpu io memory hugetlb pids rdma misc\n';

// A process whose /proc/self/cgroup says "0::/" sits either in the real root group, which has no
// memory.current and no limit, or at the top of a cgroup namespace (a container's view), where
// the mount's top directory is the container's own group (test/vm/ checks both on a live kernel).
describe('readCgroupMemory for the cgroup path "/" on v2', () => {
  it('in the root group, which has no memory.current: host figures, no error', async () => {
    const m = await readCgroupMemory({
      root: fixture('v2'),
      readFile: overlay({
        'proc/self/cgroup': '0::/\n',
        'sys/fs/cgroup/cgroup.controllers': CONTROLLERS,
      }),
    });
    assert.equal(m.source, 'host-meminfo');
    assert.equal(m.limit, null);
  });

  it("at the top of a cgroup namespace: the mount's top is the group, its memory.max the limit", async () => {
    const m = await readCgroupMemory({
      root: fixture('v2'),
      readFile: overlay({
        'proc/self/cgroup': '0::/\n',
        'sys/fs/cgroup/cgroup.controllers': CONTROLLERS,
        'sys/fs/cgroup/memory.current': `${100 * MiB}\n`,
        'sys/fs/cgroup/memory.max': `${384 * MiB}\n`,
        'sys/fs/cgroup/memory.stat': 'anon 73400320\nfile 31457280\ninactive_file 20971520\n',
      }),
    });
    assert.equal(m.source, 'cgroup-v2');
    assert.equal(m.path, '/');
    assert.equal(m.dir, fixture('v2/sys/fs/cgroup'));
    assert.equal(m.limit, 384 * MiB);
    assert.equal(m.workingSet, 80 * MiB);
  });
});
