import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sparkline } from '../src/cli/format.js';
import type { InspectReport } from '../src/cli/inspect.js';
import { frame } from '../src/cli/watch.js';
import { readCgroupMemory } from '../src/memory/index.js';
import { MiB, tempDir } from './helpers.js';
import { tempEntries, writerDir } from './sweep-helpers.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/cgroup/', import.meta.url));

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runWith({}, ...args);
}

function runWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { timeout: 30_000, env: { ...process.env, ...env } };
    execFile(process.execPath, [CLI, ...args], options, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('slabio inspect', () => {
  it('--json reports this machine as readCgroupMemory does, with allocator, capabilities and advice', async () => {
    const { code, stdout, stderr } = await run('inspect', '--json');
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as InspectReport;
    const here = await readCgroupMemory();
    assert.ok(r.memory !== null);
    assert.equal(r.memoryError, null);
    assert.equal(r.memory.source, here.source);
    assert.equal(r.memory.version, here.version);
    assert.equal(r.memory.limit, here.limit);
    assert.equal(r.memory.workingSet, Math.max(0, r.memory.usage - r.memory.inactiveFile));
    assert.ok(['glibc', 'musl', 'unknown'].includes(r.allocator.libc));
    assert.ok(r.advice.length >= 1);
    assert.equal(r.files, null);
    assert.ok(r.capabilities !== null || r.capabilitiesError !== null);
  });

  it('lists a file that sits in the page cache under [dir]', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'cached.bin');
    await writeFile(file, Buffer.alloc(2 * MiB, 1));
    await readFile(file);
    const { code, stdout, stderr } = await run('inspect', dir, '--json', '--top', '3');
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as InspectReport;
    assert.equal(r.files?.dir, dir);
    if (r.files?.unavailable) {
      t.diagnostic(`residency unavailable: ${r.files.unavailable}`);
      return;
    }
    assert.equal(r.files?.scanned, 1);
    assert.equal(r.files?.top[0]?.path, file);
    assert.ok((r.files?.top[0]?.cachedBytes ?? 0) > 0);
    const human = await run('inspect', dir);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /files holding page cache in .*\(1 scanned\)/);
    assert.ok(human.stdout.includes(file));
  });

  it('prints the sections a human needs', async () => {
    const { code, stdout } = await run('inspect');
    assert.equal(code, 0);
    for (const heading of [
      'memory (as Kubernetes sees it)',
      'allocator',
      'page-cache control',
      'advice',
    ]) {
      assert.ok(stdout.includes(`${heading}`), heading);
    }
    assert.match(stdout, /working set .* = usage − inactive_file/);
  });

  it('reads another cgroup with --cgroup-dir', async () => {
    const dir = path.join(FIXTURES, 'v1/sys/fs/cgroup/memory');
    const { code, stdout } = await run('inspect', '--json', '--cgroup-dir', dir);
    assert.equal(code, 0);
    const r = JSON.parse(stdout) as InspectReport;
    assert.ok(r.memory !== null);
    assert.equal(r.memory.workingSet, 50 * MiB);
    assert.equal(r.memory.limit, 128 * MiB);
  });

  it('says an unreadable cgroup blinds the guard, prints the rest and exits 1; 1 for a missing dir', async () => {
    const dir = path.join(FIXTURES, 'v2-malformed/sys/fs/cgroup/app');
    const bad = await run('inspect', '--cgroup-dir', dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERR_SLABIO_CGROUP: .*malformed number "12x34"/);
    assert.match(bad.stderr, /MemoryGuard reading it is blind/);
    assert.match(
      bad.stdout,
      /cgroup +UNREADABLE\n +error +ERR_SLABIO_CGROUP: .*memory\.current: malformed number "12x34"/,
    );
    assert.match(bad.stdout, /memory guard +blind here/);
    assert.match(bad.stdout, /^allocator$/m, 'the rest of the report is still there');
    assert.match(
      bad.stdout,
      /- The memory cgroup cannot be read .*A MemoryGuard in this process is blind/,
    );
    const json = await run('inspect', '--json', '--cgroup-dir', dir);
    assert.equal(json.code, 1);
    const r = JSON.parse(json.stdout) as InspectReport;
    assert.equal(r.memory, null);
    assert.equal(r.memoryError?.code, 'ERR_SLABIO_CGROUP');
    assert.match(r.memoryError?.file ?? '', /memory\.current$/);
    const watch = await run('watch', '--count', '1', '--cgroup-dir', dir);
    assert.equal(watch.code, 1);
    assert.match(
      watch.stderr,
      /slabio watch: ERR_SLABIO_CGROUP: .*\n.*MemoryGuard reading it is blind/,
    );
    const missing = await run(
      'inspect',
      path.join(os.tmpdir(), `slabio-no-such-dir-${process.pid}`),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
  });

  it('exits 2 on bad usage, 0 for --help and --version', async () => {
    assert.equal((await run('frobnicate')).code, 2);
    assert.equal((await run('inspect', 'a', 'b')).code, 2);
    assert.equal((await run('inspect', '--top', '0')).code, 2);
    assert.equal((await run('inspect', '--nope')).code, 2);
    assert.equal((await run()).code, 2);
    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /slabio inspect \[dir\]/);
    const version = await run('--version');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(version.stdout.trim(), pkg.version);
  });
});

describe('slabio watch', () => {
  it('prints --count frames and stops', async () => {
    const { code, stdout } = await run('watch', '--interval', '10', '--count', '3');
    assert.equal(code, 0);
    assert.equal(stdout.match(/^slabio watch:/gm)?.length, 3);
    assert.match(stdout, /working set .* of /);
  });

  it('renders a frame with a sparkline scaled to the limit', async () => {
    const m = await readCgroupMemory({ root: path.join(FIXTURES, 'v2') });
    const text = frame(m, [0, 128 * MiB, 256 * MiB], 1000);
    assert.match(text, /working set 152\.0 MiB of 256\.0 MiB \(59\.4%\)/);
    assert.ok(text.includes('▁▅█'));
    assert.match(text, /oom_kill 1/);
  });

  it('sparkline scales to the values without a limit', () => {
    assert.equal(sparkline([]), '');
    assert.equal(sparkline([5, 5]), '▁▁');
    assert.equal(sparkline([10, 20, 30]), '▁▅█');
    assert.equal(sparkline([0, 300], 100), '▁█', 'clamped to max');
  });
});

describe('slabio sweep', () => {
  it('removes the temp file of a writer killed mid-write and says what it removed', async (t) => {
    const { dir, start } = await writerDir(t);
    const w = await start('writeFile', { env: { SLABIO_NATIVE: '0' } });
    const entry = path.join(dir, w.entry);
    const live = await run('sweep', dir);
    assert.equal(live.code, 0, live.stderr);
    assert.ok(
      live.stdout.includes(`kept ${entry}  (owner-running, pid ${w.child.pid}`),
      live.stdout,
    );
    assert.deepEqual(await tempEntries(dir), [w.entry]);
    await w.kill();
    // With and without the addon (its directory scan, or fs.opendir).
    for (const env of [{}, { SLABIO_NATIVE: '0' }]) {
      const dry = await runWith(env, 'sweep', dir, '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.ok(dry.stdout.includes(`would remove ${entry}  (owner-exited`), dry.stdout);
      assert.deepEqual(await tempEntries(dir), [w.entry], '--dry-run removes nothing');
    }
    const { code, stdout, stderr } = await run('sweep', dir);
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes(`removed ${entry}  (owner-exited, pid ${w.child.pid}`), stdout);
    assert.match(stdout, /: 1 removed, 0 kept, 0 failed\n$/);
    assert.deepEqual(await tempEntries(dir), []);
  });

  it('--json lists the removed entries; --max-age applies to owners it cannot check', async (t) => {
    const dir = await tempDir(t);
    const legacy = `.out.bin.slabio-${process.pid}-${'a'.repeat(12)}.tmp`;
    await writeFile(path.join(dir, legacy), '');
    const young = await run('sweep', dir, '--json');
    assert.equal(young.code, 0, young.stderr);
    const kept = JSON.parse(young.stdout);
    assert.deepEqual(kept.removed, []);
    assert.equal(kept.kept[0].reason, 'unverifiable');
    const old = await run('sweep', dir, '--json', '--max-age', '0s');
    assert.equal(old.code, 0, old.stderr);
    const r = JSON.parse(old.stdout);
    assert.equal(r.dir, dir);
    assert.deepEqual(
      r.removed.map((e: { path: string; reason: string }) => [e.path, e.reason]),
      [[path.join(dir, legacy), 'max-age']],
    );
    assert.deepEqual(r.failed, []);
  });

  it('exits 1 and names the entry when a stale one cannot be removed', async (t) => {
    const dir = await tempDir(t);
    const legacy = path.join(dir, `.out.bin.slabio-${process.pid}-${'b'.repeat(12)}.tmp`);
    await writeFile(legacy, '');
    // An immutable file: even root gets EPERM from unlink.
    try {
      execFileSync('chattr', ['+i', legacy], { stdio: 'pipe' });
    } catch (err) {
      t.skip(`chattr +i not possible here: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    // Not an after hook: those run in order, and the directory's removal comes first.
    try {
      const { code, stdout } = await run('sweep', dir, '--max-age', '0s');
      assert.equal(code, 1);
      assert.ok(stdout.includes(`failed ${legacy}  (EPERM)`), stdout);
      assert.match(stdout, /: 0 removed, 0 kept, 1 failed\n$/);
    } finally {
      execFileSync('chattr', ['-i', legacy]);
    }
  });

  it('exits 2 on bad usage, 1 for a directory it cannot read', async () => {
    assert.equal((await run('sweep')).code, 2);
    assert.equal((await run('sweep', 'a', 'b')).code, 2);
    const bad = await run('sweep', os.tmpdir(), '--max-age', '3x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-age must be a number with a unit/);
    const missing = await run('sweep', path.join(os.tmpdir(), `slabio-no-such-dir-${process.pid}`));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
    assert.match((await run('--help')).stdout, /slabio sweep DIR/);
  });
});
