// The memory guard's soft round on a live cgroup v2 kernel: past the soft threshold it writes
// memory.reclaim, and the kernel's own figures show the working set fall (the VM of
// test/vm/run.sh; the host's cgroup v1 has no memory.reclaim).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { MemoryGuard, type ReliefReport, readCgroupMemory } from '../../src/memory/index.js';
import { MiB } from '../helpers.js';
import {
  HOLDER_FILL,
  kernelFigures,
  leftoverGroups,
  makeColdFile,
  makeGroup,
  startHolder,
  vmSkip,
} from './vm-helpers.js';

const FILE_BYTES = 64 * MiB;

// A guard inside the group, reading its own view as an app in a container does; soft is set half
// the active file cache below the working set, so the round has something to reclaim.
const GUARD_INSIDE = `${HOLDER_FILL}
const { MemoryGuard, readCgroupMemory } = await import(process.env.SLABIO_INDEX);
const m = await readCgroupMemory();
const softBytes = m.workingSet - m.activeFile / 2;
const guard = new MemoryGuard({ soft: softBytes, hard: 0.95, hysteresis: 4 << 20, intervalMs: 0, dropCache: false, mallocTrim: false });
const soft = new Promise((resolve) => guard.once('soft', resolve));
const first = await guard.sample();
const report = await soft;
const { reclaimWrites, reclaimUnavailable } = guard.stats();
guard.close();
process.stdout.write(JSON.stringify({ path: m.path, dir: m.dir, softBytes, state: first.state, before: m.workingSet, after: report.after.workingSet, reclaimRequested: report.reclaimRequested, errors: report.errors.map(String), reclaimWrites, reclaimUnavailable, procSelfCgroup: '' }) + '\\n');
`;

interface InsideReport {
  path: string;
  dir: string;
  softBytes: number;
  state: string;
  before: number;
  after: number;
  reclaimRequested: number;
  errors: string[];
  reclaimWrites: number;
  reclaimUnavailable: string | null;
}

describe('the memory guard on cgroup v2 (live)', { skip: vmSkip }, () => {
  let file = '';
  before(async () => {
    file = await makeColdFile(`slabio-vm-${process.pid}-guard.bin`, FILE_BYTES);
  });
  after(async () => {
    await rm(file, { force: true });
    assert.deepEqual(await leftoverGroups(), []);
  });

  it('a soft round writes memory.reclaim and the working set falls below soft', async (t) => {
    const g = await makeGroup('guard', 512 * MiB);
    // Read twice: the file's pages go to the active LRU, so they count in the working set and only
    // reclaim (not the working-set formula) can take them out.
    const h = await startHolder(g, { anonBytes: 16 * MiB, file, reads: 2 });
    try {
      const filled = await kernelFigures(g.dir);
      const m = await readCgroupMemory({ cgroupDir: g.dir });
      assert.ok(m.activeFile >= FILE_BYTES / 2, `active_file ${m.activeFile} holds the file`);
      const softBytes = m.workingSet - FILE_BYTES / 2;
      const guard = new MemoryGuard({
        soft: softBytes,
        hard: 480 * MiB,
        hysteresis: 4 * MiB,
        intervalMs: 0,
        // Only memory.reclaim acts: no file is tracked, no pool, no malloc_trim.
        dropCache: false,
        mallocTrim: false,
        reader: { cgroupDir: g.dir },
      });
      try {
        const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
        const first = await guard.sample();
        assert.equal(first.state, 'soft');
        const [report] = await soft;
        assert.deepEqual(report.errors, []);
        assert.ok(report.reclaimRequested > 0, 'memory.reclaim was written');
        assert.equal(report.reclaimRequested % 4096, 0);
        assert.equal(guard.stats().reclaimWrites, 1);
        assert.equal(guard.stats().reclaimUnavailable, null);
        const k = await kernelFigures(g.dir);
        t.diagnostic(
          `measured: working set ${(filled.workingSet / MiB).toFixed(1)} MiB -> ${(k.workingSet / MiB).toFixed(1)} MiB (kernel), file ${(filled.file / MiB).toFixed(1)} -> ${(k.file / MiB).toFixed(1)} MiB, reclaim asked ${(report.reclaimRequested / MiB).toFixed(1)} MiB, soft ${(softBytes / MiB).toFixed(1)} MiB`,
        );
        assert.ok(
          report.after.workingSet < softBytes,
          `working set after the round ${report.after.workingSet} < soft ${softBytes}`,
        );
        assert.ok(k.workingSet < softBytes, `kernel working set ${k.workingSet} < ${softBytes}`);
        assert.ok(k.file < filled.file - FILE_BYTES / 4, 'the file cache was reclaimed');
        const second = await guard.sample();
        assert.equal(second.state, 'ok');
        assert.equal(guard.stats().recoveries, 1);
      } finally {
        guard.close();
      }
    } finally {
      await h.stop();
      await g.remove();
    }
  });

  it("inside a container's view with cgroup2 mounted read-write: the guard reclaims its own group", async (t) => {
    const g = await makeGroup('guard-rw', 512 * MiB);
    const h = await startHolder(g, {
      anonBytes: 16 * MiB,
      file,
      reads: 2,
      entry: 'namespace',
      script: GUARD_INSIDE,
    });
    try {
      const r = h.report as unknown as InsideReport;
      t.diagnostic(
        `measured: working set ${(r.before / MiB).toFixed(1)} -> ${(r.after / MiB).toFixed(1)} MiB, soft ${(r.softBytes / MiB).toFixed(1)} MiB, reclaim asked ${(r.reclaimRequested / MiB).toFixed(1)} MiB`,
      );
      assert.equal(r.path, '/');
      assert.equal(r.dir, '/sys/fs/cgroup');
      assert.equal(r.state, 'soft');
      assert.deepEqual(r.errors, []);
      assert.equal(r.reclaimUnavailable, null);
      assert.equal(r.reclaimWrites, 1);
      assert.ok(r.after < r.softBytes, `working set after ${r.after} < soft ${r.softBytes}`);
      assert.ok((await kernelFigures(g.dir)).workingSet < r.softBytes);
    } finally {
      await h.stop();
      await g.remove();
    }
  });

  it('inside a container whose cgroup2 is mounted read-only (as Docker does): reclaim turns off, no error', async (t) => {
    const g = await makeGroup('guard-ro', 512 * MiB);
    const h = await startHolder(g, {
      anonBytes: 16 * MiB,
      file,
      reads: 2,
      entry: 'namespace',
      mountOptions: 'ro',
      script: GUARD_INSIDE,
    });
    try {
      const r = h.report as unknown as InsideReport;
      t.diagnostic(`measured: reclaimUnavailable ${r.reclaimUnavailable}, state ${r.state}`);
      assert.equal(r.state, 'soft');
      assert.equal(r.reclaimUnavailable, 'EROFS');
      assert.equal(r.reclaimWrites, 0);
      assert.equal(r.reclaimRequested, 0);
      assert.deepEqual(r.errors, []);
    } finally {
      await h.stop();
      await g.remove();
    }
  });
});
