import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CgroupError } from '../src/errors.js';
import { readCgroupMemory } from '../src/memory/index.js';
import { fixture, overlay } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

const HOST = 8 * 1024 * MiB; // MemTotal of the fixtures' proc/meminfo

describe('readCgroupMemory on cgroup v2 fixtures', () => {
  it('computes the working set as cadvisor does and takes the lowest ancestor limit', async () => {
    const m = await readCgroupMemory({ root: fixture('v2') });
    assert.equal(m.source, 'cgroup-v2');
    assert.equal(m.version, 2);
    assert.equal(m.path, '/kubepods.slice/pod-a/ctr');
    assert.equal(m.usage, 192 * MiB);
    assert.equal(m.limit, 256 * MiB, 'pod-a/memory.max caps the "max" of the container group');
    assert.equal(m.hostMemory, HOST);
    assert.equal(m.inactiveFile, 40 * MiB);
    assert.equal(m.activeFile, 95 * MiB);
    assert.equal(m.workingSet, 152 * MiB);
    assert.equal(m.headroom, 104 * MiB);
    assert.equal(m.anon, 50 * MiB);
    assert.equal(m.file, 136 * MiB);
    assert.equal(m.shmem, 1 * MiB);
    assert.equal(m.dirty, 4096000);
    assert.equal(m.writeback, 1024000);
    assert.equal(m.slabReclaimable, 2621440);
    assert.deepEqual(m.events, { oom: 2, oomKill: 1, high: 0, max: 41 });
    assert.deepEqual(m.pressure, {
      scope: 'cgroup',
      some: { avg10: 3.25, avg60: 1.1, avg300: 0.4, totalUs: 5123456 },
      full: { avg10: 1, avg60: 0.5, avg300: 0.1, totalUs: 2345678 },
    });
  });

  it('reports limit null when memory.max is "max" all the way up, and no events/pressure', async () => {
    const m = await readCgroupMemory({ root: fixture('v2-unlimited') });
    assert.equal(m.limit, null);
    assert.equal(m.headroom, null);
    assert.equal(m.workingSet, 6 * MiB);
    assert.equal(m.events, null);
    assert.equal(m.pressure, null);
  });

  it('treats a limit at or above host memory as unlimited, one byte below as a limit', async () => {
    const at = await readCgroupMemory({ root: fixture('v2'), hostMemory: 256 * MiB });
    assert.equal(at.limit, null);
    const below = await readCgroupMemory({ root: fixture('v2'), hostMemory: 256 * MiB + 1 });
    assert.equal(below.limit, 256 * MiB);
  });

  it('floors the working set at 0 when inactive_file exceeds usage', async () => {
    const m = await readCgroupMemory({
      root: fixture('v2'),
      readFile: overlay({ 'ctr/memory.current': `${30 * MiB}\n` }),
    });
    assert.equal(m.workingSet, 0);
    assert.equal(m.headroom, 256 * MiB);
  });

  it('throws ERR_SLABIO_CGROUP naming memory.stat when it is missing', async () => {
    await assert.rejects(readCgroupMemory({ root: fixture('v2-missing') }), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.equal(err.code, 'ERR_SLABIO_CGROUP');
      assert.match(err.file, /memory\.stat$/);
      assert.match(err.message, /missing/);
      return true;
    });
  });

  it('throws ERR_SLABIO_CGROUP for a malformed number instead of returning NaN', async () => {
    await assert.rejects(readCgroupMemory({ root: fixture('v2-malformed') }), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.match(err.file, /memory\.current$/);
      assert.match(err.message, /malformed number "12x34"/);
      return true;
    });
  });

  it('names the key of a malformed memory.stat line', async () => {
    const stat = (
      await readFile(fixture('v2-unlimited/sys/fs/cgroup/user.slice/app/memory.stat'), 'utf8')
    ).replace('inactive_file 4194304', 'inactive_file -5');
    await assert.rejects(
      readCgroupMemory({
        root: fixture('v2-unlimited'),
        readFile: overlay({ 'app/memory.stat': stat }),
      }),
      /key "inactive_file"/,
    );
  });

  it('requires inactive_file: a working set without it would silently equal usage', async () => {
    await assert.rejects(
      readCgroupMemory({
        root: fixture('v2-unlimited'),
        readFile: overlay({ 'app/memory.stat': 'anon 1\n' }),
      }),
      (err: unknown) => err instanceof CgroupError && /"inactive_file" not found/.test(err.message),
    );
  });

  it('wraps unreadable required files (not ENOENT) in ERR_SLABIO_CGROUP with the cause', async () => {
    const eacces = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    await assert.rejects(
      readCgroupMemory({
        root: fixture('v2'),
        readFile: async (f) => {
          if (f.endsWith('ctr/memory.current')) throw eacces;
          return readFile(f, 'utf8');
        },
      }),
      (err: unknown) => err instanceof CgroupError && err.cause === eacces,
    );
  });
});

describe('readCgroupMemory on cgroup v1 fixtures', () => {
  it('uses total_* counters and the lower hierarchical limit in a bind-mounted container group', async () => {
    const m = await readCgroupMemory({ root: fixture('v1') });
    assert.equal(m.source, 'cgroup-v1');
    assert.equal(m.version, 1);
    assert.equal(m.path, '/docker/3f2a9c');
    assert.equal(m.dir, path.join(fixture('v1'), 'sys/fs/cgroup/memory'));
    assert.equal(m.usage, 100 * MiB);
    assert.equal(m.limit, 128 * MiB);
    assert.equal(m.inactiveFile, 50 * MiB, 'total_inactive_file, not inactive_file');
    assert.equal(m.workingSet, 50 * MiB);
    assert.equal(m.headroom, 78 * MiB);
    assert.equal(m.anon, 28 * MiB);
    assert.equal(m.file, 70 * MiB);
    assert.equal(m.dirty, 3 * MiB);
    assert.equal(m.slabReclaimable, undefined);
    assert.deepEqual(m.events, { oom: null, oomKill: 3, high: null, max: 7 });
    assert.equal(m.pressure?.scope, 'host');
    assert.equal(m.pressure?.some.avg10, 0.5);
  });

  it('maps the 9223372036854771712 sentinel to limit null', async () => {
    const m = await readCgroupMemory({ root: fixture('v1-unlimited') });
    assert.equal(m.path, '/batch/job7');
    assert.equal(m.limit, null);
    assert.equal(m.workingSet, 50 * MiB);
    assert.equal(m.events, null);
  });

  it('reads a cgroup directory given directly and detects its version', async () => {
    const m = await readCgroupMemory({
      cgroupDir: fixture('v1/sys/fs/cgroup/memory'),
      root: fixture('v1'),
    });
    assert.equal(m.version, 1);
    assert.equal(m.workingSet, 50 * MiB);
    const m2 = await readCgroupMemory({
      cgroupDir: fixture('v2/sys/fs/cgroup/kubepods.slice/pod-a/ctr'),
      root: fixture('v2'),
    });
    assert.equal(m2.version, 2);
    assert.equal(m2.workingSet, 152 * MiB);
  });
});

describe('readCgroupMemory outside a memory cgroup', () => {
  it('reports host figures from /proc/meminfo, labelled as such', async () => {
    const m = await readCgroupMemory({ root: fixture('host') });
    assert.equal(m.source, 'host-meminfo');
    assert.equal(m.version, null);
    assert.equal(m.path, null);
    assert.equal(m.limit, null);
    assert.equal(m.hostMemory, HOST);
    assert.equal(m.usage, 4 * 1024 * MiB);
    assert.equal(m.inactiveFile, 1536 * MiB);
    assert.equal(m.workingSet, (4096 - 1536) * MiB);
    assert.equal(m.activeFile, 1536 * MiB);
    assert.equal(m.shmem, 16 * MiB);
  });

  it('reports os figures off Linux', async () => {
    const m = await readCgroupMemory({ root: fixture('v2'), platform: 'darwin' });
    assert.equal(m.source, 'host-os');
    assert.equal(m.limit, null);
    assert.ok(m.usage > 0);
    assert.equal(m.workingSet, m.usage);
  });

  it('falls back to host figures when /proc/self/cgroup does not exist', async () => {
    const m = await readCgroupMemory({
      root: fixture('host'),
      readFile: overlay({ 'self/cgroup': null }),
    });
    assert.equal(m.source, 'host-meminfo');
  });
});

describe('readCgroupMemory arguments and aborts', () => {
  it('rejects with signal.reason when aborted before the read', async () => {
    const reason = new Error('stop');
    await assert.rejects(
      readCgroupMemory({ root: fixture('v2'), signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
  });

  it('rejects with signal.reason when aborted during the read', async () => {
    const ac = new AbortController();
    const reason = new Error('mid-read');
    const p = readCgroupMemory({
      root: fixture('v2'),
      readFile: async (f, signal) => {
        ac.abort(reason);
        signal?.throwIfAborted();
        return readFile(f, 'utf8');
      },
      signal: ac.signal,
    });
    await assert.rejects(p, (e) => e === reason);
  });

  it('rejects a non-positive hostMemory with a RangeError naming it', async () => {
    await assert.rejects(
      readCgroupMemory({ hostMemory: 0 }),
      /RangeError: hostMemory must be .* got 0/,
    );
  });
});
