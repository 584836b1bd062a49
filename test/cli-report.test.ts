// `slabio inspect` with a directory it cannot read still prints the whole report and says so once;
// `slabio watch` without a limit draws small changes of the working set as small.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sparkline } from '../src/cli/format.js';
import type { InspectReport } from '../src/cli/inspect.js';
import { frame } from '../src/cli/watch.js';
import { type CgroupMemory, readCgroupMemory } from '../src/memory/index.js';
import { tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('slabio inspect of a directory it cannot read', () => {
  it('prints the memory report, one clean message, and exits 1', async (t) => {
    const dir = await tempDir(t);
    const missing = path.join(dir, 'no-such-dir');
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    for (const [target, code] of [
      [missing, 'ENOENT'],
      [file, 'ENOTDIR'],
    ] as const) {
      const r = await run('inspect', target);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `slabio inspect: cannot read ${target}: ${messageOf(code)} (${code})\n`,
      );
      assert.match(r.stdout, /^memory \(as Kubernetes sees it\)$/m);
      assert.match(r.stdout, /^allocator$/m);
      assert.match(r.stdout, /^page-cache control \(/m);
      assert.match(r.stdout, new RegExp(`unreadable +${messageOf(code)} \\(${code}\\)`));
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`${code}: ${code}`));
      const json = await run('inspect', '--json', target);
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout) as InspectReport;
      assert.equal(report.dirError?.code, code);
      assert.equal(report.files, null);
      assert.notEqual(report.memory, null);
      assert.notEqual(report.capabilities, null, 'the temp dir is probed instead');
    }
  });

  it('a readable directory has no dirError and exits 0', async (t) => {
    const dir = await tempDir(t);
    const r = await run('inspect', '--json', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as InspectReport).dirError, null);
  });
});

function messageOf(code: 'ENOENT' | 'ENOTDIR'): string {
  return code === 'ENOENT' ? 'no such file or directory' : 'not a directory';
}

describe('slabio watch without a limit', () => {
  it('draws a 0.5 MiB change of a 200 MiB working set as a flat line', () => {
    const history = [200 * MiB, 200.5 * MiB, 200 * MiB, 200.5 * MiB];
    assert.equal(sparkline(history), '▁▁▁▁');
  });

  it('still spans the full height for a change of a tenth of the working set or more', () => {
    assert.equal(sparkline([200 * MiB, 225 * MiB, 250 * MiB]), '▁▅█');
    assert.equal(sparkline([100 * MiB, 300 * MiB]), '▁█');
    // Below the floor (a tenth of 210 MiB): about half the height.
    assert.equal(sparkline([200 * MiB, 210 * MiB]), '▁▄');
  });

  it('a frame shows the scale it draws in', async () => {
    const v2 = fileURLToPath(new URL('../../test/fixtures/cgroup/v2', import.meta.url));
    const m: CgroupMemory = { ...(await readCgroupMemory({ root: v2 })), limit: null };
    const text = frame(m, [200 * MiB, 200.5 * MiB], 1000);
    assert.match(text, /^ {2}▁▁ {2}\(200\.0 MiB to 220\.1 MiB\)$/m);
  });
});
