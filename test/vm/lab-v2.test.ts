// The lab's cgroup v2 scheme for real (the VM of test/vm/run.sh): started alone in a group that
// does not delegate memory, `--quick` must move itself into a leaf child, enable memory for its job
// groups, run both variants under a limit, and put everything back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LabResults } from '../../lab/report.js';
import { tempDir } from '../helpers.js';
import { leftoverGroups, makeGroup, vmSkip } from './vm-helpers.js';

const MAIN = fileURLToPath(new URL('../../lab/main.js', import.meta.url));

describe('the lab on cgroup v2 (live)', { skip: vmSkip }, () => {
  after(async () => {
    assert.deepEqual(await leftoverGroups(), []);
  });

  it('--quick: leaf group, job groups with memory.max, all reverted', async (t) => {
    const g = await makeGroup('lab');
    const out = await tempDir(t);
    try {
      const prefix = `slabio-test-${process.pid}-lab`;
      await promisify(execFile)(
        'sh',
        [
          '-c',
          `echo $$ > "${g.dir}/cgroup.procs" && exec "${process.execPath}" "${MAIN}" --quick --out "${out}" --cgroup-prefix ${prefix}`,
        ],
        { maxBuffer: 16 << 20 },
      );
      const res = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as LabResults;
      t.diagnostic(
        `measured: limit ${res.limitBytes} B; naive ${res.runs.naive.items} items (completed ${res.runs.naive.completed}, OOM-killed ${res.runs.naive.oomKilled}), slabio ${res.runs.slabio.items} items, peak working set ${res.runs.slabio.peakWorkingSetBytes} B`,
      );
      assert.equal(res.cgroup, 'v2', String(res.cgroupNote));
      for (const r of [res.runs.naive, res.runs.slabio]) {
        assert.equal(path.dirname(r.cgroupDir as string), g.dir, 'job groups sit in its group');
        assert.ok(r.samples.length > 0 && r.samples.every((s) => s.usage !== null));
      }
      assert.equal(res.runs.slabio.completed, true, String(res.runs.slabio.failure));
      // Reverted: no leaf or job group, memory no longer delegated, no process left in the group.
      assert.deepEqual(
        (await readdir(g.dir, { withFileTypes: true })).filter((e) => e.isDirectory()),
        [],
      );
      assert.equal((await readFile(path.join(g.dir, 'cgroup.subtree_control'), 'utf8')).trim(), '');
      assert.equal((await readFile(path.join(g.dir, 'cgroup.procs'), 'utf8')).trim(), '');
    } finally {
      await g.remove();
    }
  });
});
