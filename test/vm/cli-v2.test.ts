// `slabio inspect --json` run inside a live cgroup v2 group (the VM of test/vm/run.sh) must agree
// with the kernel: the group, its limit, the file cache an idle holder keeps there, and what the
// ext4 scratch disk can do.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { InspectReport } from '../../src/cli/inspect.js';
import { MiB } from '../helpers.js';
import {
  closeTo,
  kernelFigures,
  leftoverGroups,
  makeColdFile,
  makeGroup,
  scratchDir,
  startHolder,
  vmSkip,
} from './vm-helpers.js';

const FILE_BYTES = 32 * MiB;
const LIMIT = 448 * MiB;
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

// The CLI's own modules, read here first so that their page cache is charged to this process's
// group, not to the group the CLI runs in.
async function warm(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await warm(p);
    else if (e.name.endsWith('.js')) await readFile(p);
  }
}

describe('slabio inspect --json on cgroup v2 (live)', { skip: vmSkip }, () => {
  let file = '';
  before(async () => {
    file = await makeColdFile(`slabio-vm-${process.pid}-inspect.bin`, FILE_BYTES);
  });
  after(async () => {
    await rm(file, { force: true });
    assert.deepEqual(await leftoverGroups(), []);
  });

  it('agrees with the kernel on the group, its limit, its file cache and the disk', async (t) => {
    await warm(fileURLToPath(new URL('../../src/', import.meta.url)));
    const g = await makeGroup('inspect', LIMIT);
    const h = await startHolder(g, { anonBytes: 48 * MiB, file });
    try {
      const before = await kernelFigures(g.dir);
      const { stdout } = await promisify(execFile)(
        'sh',
        [
          '-c',
          `echo $$ > "${g.dir}/cgroup.procs" && exec "${process.execPath}" "${MAIN}" inspect "${scratchDir()}" --json`,
        ],
        { maxBuffer: 4 << 20 },
      );
      const report = JSON.parse(stdout) as InspectReport;
      const afterExit = await kernelFigures(g.dir);
      const peak = Number(await readFile(path.join(g.dir, 'memory.peak'), 'utf8'));
      const m = report.memory;
      assert.ok(m !== null, `memory figures: ${JSON.stringify(report.memoryError)}`);
      t.diagnostic(
        `measured: inspect usage ${(m.usage / MiB).toFixed(1)} MiB (kernel: holder alone ${(afterExit.current / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB), inactive_file ${(m.inactiveFile / MiB).toFixed(2)} MiB (kernel before ${(before.inactiveFile / MiB).toFixed(2)}, after ${(afterExit.inactiveFile / MiB).toFixed(2)} MiB)`,
      );
      assert.equal(m.source, 'cgroup-v2');
      assert.equal(m.path, g.path);
      assert.equal(m.dir, g.dir);
      assert.equal(m.limit, LIMIT);
      assert.equal(m.headroom, LIMIT - m.workingSet);
      assert.equal(m.workingSet, m.usage - m.inactiveFile);
      // The CLI itself is charged while it runs, so its usage lies between the holder's alone
      // and the group's peak.
      assert.ok(
        m.usage >= Math.min(before.current, afterExit.current) && m.usage <= peak,
        `usage ${m.usage}`,
      );
      // What the CLI loads that nothing had cached yet (its addon) lands in inactive_file too.
      const lo = Math.min(before.inactiveFile, afterExit.inactiveFile);
      const hi = Math.max(before.inactiveFile, afterExit.inactiveFile);
      assert.ok(
        m.inactiveFile >= lo * 0.99 && m.inactiveFile <= hi * 1.01,
        `inactive_file ${m.inactiveFile} within the kernel's ${lo}..${hi}`,
      );
      assert.ok(report.capabilities !== null);
      assert.equal(report.capabilities.filesystem.type, 'ext4');
      assert.equal(report.capabilities.dontcache.available, false);
      assert.equal(report.capabilities.syncFileRange.available, true);
      const listed = report.files?.top.find((f) => f.path === file);
      assert.ok(
        listed !== undefined,
        `the holder's file is listed: ${JSON.stringify(report.files)}`,
      );
      assert.ok(closeTo(listed.cachedBytes, FILE_BYTES, 0.05), `cached ${listed.cachedBytes}`);
    } finally {
      await h.stop();
      await g.remove();
    }
  });
});
