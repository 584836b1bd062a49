import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  createNoCacheWriteStream,
  type SweepResult,
  sweepStale,
  writeFileNoCache,
} from '../src/index.js';
import { extractZip } from '../src/integrations/zip/index.js';
import { nativeAvailable } from '../src/linux/index.js';
import { tempDir } from './helpers.js';
import {
  gone,
  makeName,
  type NameFields,
  nameFields,
  tempEntries,
  type WriterMode,
  writerDir,
} from './sweep-helpers.js';

const native = nativeAvailable();
const NO_ADDON = { SLABIO_NATIVE: '0' };
const DAY_MS = 86_400_000;

function removedNames(r: SweepResult): string[] {
  return r.removed.map((e) => e.path.slice(r.dir.length + 1)).sort();
}

/** This process's own identity, read off the name of a temp file it is writing. */
async function ownFields(t: TestContext): Promise<NameFields> {
  const dir = await tempDir(t);
  const s = createNoCacheWriteStream(join(dir, 'own.bin'), { atomic: true });
  await new Promise((resolve) => s.write(Buffer.alloc(1), resolve));
  const [entry] = await tempEntries(dir, 'tmp');
  s.destroy();
  await once(s, 'close');
  return nameFields(entry as string);
}

/** A pid no process has now: a child that already exited (pids are handed out in order). */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await once(c, 'exit');
  return c.pid as number;
}

/** An empty file named `name` in `dir`, last modified `ageMs` ago. */
async function fake(dir: string, name: string, ageMs = 0): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, '');
  if (ageMs > 0) {
    const when = new Date(Date.now() - ageMs);
    await utimes(path, when, when);
  }
  return name;
}

const MODES: WriterMode[] = ['writeFile', 'stream', 'spool', 'staging'];

for (const mode of MODES) {
  for (const addon of native ? [true, false] : [false]) {
    test(`${mode} killed mid-write (${addon ? 'flock' : 'no addon'}): the next atomic write into the directory removes its ${mode === 'staging' ? 'staging directory' : 'temp file'}`, async (t) => {
      const { dir, start } = await writerDir(t);
      const w = await start(mode, addon ? {} : { env: NO_ADDON });
      await w.kill();
      assert.deepEqual(await tempEntries(dir), [w.entry], 'a SIGKILL leaves it behind');
      await writeFileNoCache(join(dir, 'next.bin'), 'next', { atomic: true });
      assert.deepEqual((await readdir(dir)).sort(), ['input.zip', 'next.bin']);
      assert.equal(await readFile(join(dir, 'next.bin'), 'utf8'), 'next');
    });
  }
}

test('sweepStale reports what it removed and why: lock released, owner exited', async (t) => {
  const { dir, start } = await writerDir(t);
  const locked = native ? await start('writeFile', { name: 'a.bin' }) : null;
  const plain = await start('stream', { name: 'b.bin', env: NO_ADDON });
  await locked?.kill();
  await plain.kill();
  const r = await sweepStale(dir);
  const expected = [plain.entry, ...(locked === null ? [] : [locked.entry])].sort();
  assert.deepEqual(removedNames(r), expected);
  for (const e of r.removed) {
    assert.equal(e.kind, 'tmp');
    assert.equal(e.directory, false);
    assert.ok(e.ageMs >= 0);
    const w = e.path.endsWith(plain.entry) ? plain : locked;
    assert.equal(e.pid, w?.child.pid);
    assert.equal(e.reason, w === plain ? 'owner-exited' : 'lock-released');
  }
  assert.deepEqual(r.kept, []);
  assert.deepEqual(r.failed, []);
  assert.deepEqual(await readdir(dir), ['input.zip']);
  assert.deepEqual((await sweepStale(dir)).removed, [], 'nothing left to remove');
});

test('a live writer keeps its temp file: sweepStale (even with maxAgeMs 0) and other writes leave it', async (t) => {
  const { dir, start } = await writerDir(t);
  const writers = [
    ...(native ? [await start('writeFile', { name: 'a.bin' })] : []),
    await start('writeFile', { name: 'b.bin', env: NO_ADDON }),
    await start('staging', { name: 'dest' }),
  ];
  const entries = writers.map((w) => w.entry).sort();
  const r = await sweepStale(dir, { maxAgeMs: 0 });
  assert.deepEqual(r.removed, []);
  assert.deepEqual(
    r.kept.map((k) => k.reason).sort(),
    (native
      ? ['lock-held', 'lock-held', 'owner-running']
      : ['owner-running', 'owner-running']
    ).sort(),
  );
  await writeFileNoCache(join(dir, 'next.bin'), 'x', { atomic: true });
  await extractZip(join(dir, 'input.zip'), join(dir, 'other'));
  assert.deepEqual(await tempEntries(dir), entries);
  for (const w of writers) assert.equal(w.child.exitCode, null, 'still writing');
});

test('a name whose pid is alive but started at another time (a recycled pid) is removed', async (t) => {
  const dir = await tempDir(t);
  const own = await ownFields(t);
  // Our own pid, a start time that is not ours, and no lock: only the start time can tell.
  const recycled = await fake(
    dir,
    makeName({ ...own, lock: 'u', start: String(BigInt(own.start) + 1n) }),
  );
  const r = await sweepStale(dir);
  assert.deepEqual(removedNames(r), [recycled]);
  assert.equal(r.removed[0]?.reason, 'pid-reused');
  assert.equal(r.removed[0]?.pid, process.pid);
});

test('names from another pid namespace or host are kept until maxAgeMs, whatever their pid does here', async (t) => {
  const dir = await tempDir(t);
  const own = await ownFields(t);
  const gone = String(await deadPid());
  const otherNs = String(Number(own.ns) + 1);
  const names = {
    // Another container's pid 1, 7 and a pid that does not exist here: no lock, so nothing to check.
    nsDead: await fake(dir, makeName({ ...own, lock: 'u', ns: otherNs, pid: gone })),
    nsLive: await fake(dir, makeName({ ...own, lock: 'u', ns: otherNs, pid: String(process.pid) })),
    nsOne: await fake(dir, makeName({ ...own, lock: 'u', ns: otherNs, pid: '1', start: '1' })),
    host: await fake(dir, makeName({ ...own, host: `b${'0'.repeat(16)}`, pid: gone })),
    old: await fake(
      dir,
      makeName({ ...own, lock: 'u', ns: otherNs, pid: gone, rand: 'a'.repeat(12) }),
      DAY_MS + 60_000,
    ),
  };
  const r = await sweepStale(dir);
  assert.deepEqual(removedNames(r), [names.old]);
  assert.equal(r.removed[0]?.reason, 'max-age');
  const kept = Object.fromEntries(r.kept.map((k) => [k.path.slice(dir.length + 1), k.reason]));
  assert.deepEqual(kept, {
    [names.nsDead]: 'other-namespace',
    [names.nsLive]: 'other-namespace',
    [names.nsOne]: 'other-namespace',
    [names.host]: 'other-host',
  });
  assert.deepEqual(
    removedNames(await sweepStale(dir, { maxAgeMs: 0, dryRun: true })),
    [names.host, names.nsDead, names.nsLive, names.nsOne].sort(),
    'dryRun reports what maxAgeMs 0 would remove',
  );
  assert.equal((await tempEntries(dir)).length, 4, 'dryRun removed nothing');
  assert.deepEqual((await sweepStale(dir, { maxAgeMs: Number.POSITIVE_INFINITY })).removed, []);
});

test('a locked name from another pid namespace is removed once nobody holds its lock', {
  skip: !native && 'needs the addon (flock)',
}, async (t) => {
  const dir = await tempDir(t);
  const own = await ownFields(t);
  // Same kernel (boot id), another namespace, its flock free: the owner is gone, wherever it ran.
  const name = await fake(
    dir,
    makeName({ ...own, lock: 'l', ns: String(Number(own.ns) + 1), pid: '1', start: '1' }),
  );
  const r = await sweepStale(dir);
  assert.deepEqual(removedNames(r), [name]);
  assert.equal(r.removed[0]?.reason, 'lock-released');
});

test('an owner killed but not yet reaped (a zombie) counts as exited', {
  skip: process.platform !== 'linux' && 'Linux only',
}, async (t) => {
  const { dir, start } = await writerDir(t);
  // The writer runs under a shell that execs sleep, which never waits for it.
  const prefix = ['sh', '-c', '"$0" "$@" & exec sleep 1000'];
  const w = await start('writeFile', { prefix, env: NO_ADDON });
  const [pid] = w.inner;
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  await gone(pid);
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  assert.equal(stat.slice(stat.lastIndexOf(')') + 2)[0], 'Z', 'a zombie');
  const r = await sweepStale(dir);
  assert.deepEqual(removedNames(r), [w.entry]);
  assert.equal(r.removed[0]?.reason, 'owner-exited');
});

function unshareWorks(): string | false {
  if (process.platform !== 'linux') return 'Linux only';
  try {
    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
    return false;
  } catch (err) {
    return `unshare --pid --fork --mount-proc failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL'];

test('a writer in another pid namespace: kept while it runs; after SIGKILL removed by its lock, kept without one', {
  skip: unshareWorks(),
}, async (t) => {
  const { dir, start } = await writerDir(t);
  const locked = native ? await start('writeFile', { name: 'a.bin', prefix: UNSHARE }) : null;
  const plain = await start('writeFile', {
    name: 'b.bin',
    prefix: UNSHARE,
    env: NO_ADDON,
  });
  // pid 1 of its own namespace, which is not ours.
  assert.equal(nameFields(plain.entry).pid, '1');
  const live = await sweepStale(dir);
  assert.deepEqual(live.removed, []);
  assert.deepEqual(live.kept.map((k) => k.reason).sort(), [
    ...(native ? ['lock-held'] : []),
    'other-namespace',
  ]);
  await locked?.kill();
  await plain.kill();
  const after = await sweepStale(dir);
  assert.deepEqual(removedNames(after), locked === null ? [] : [locked.entry]);
  assert.deepEqual(
    after.kept.map((k) => [k.path.slice(dir.length + 1), k.reason]),
    [[plain.entry, 'other-namespace']],
  );
  assert.deepEqual(removedNames(await sweepStale(dir, { maxAgeMs: 0 })), [plain.entry]);
});

test('names without an owner identity (the older format) are judged by age', async (t) => {
  const dir = await tempDir(t);
  const pid = await deadPid();
  const young = await fake(dir, `.out.bin.slabio-${pid}-${'a'.repeat(12)}.tmp`);
  const old = await fake(dir, `.out.bin.slabio-${pid}-${'b'.repeat(12)}.tmp`, DAY_MS + 60_000);
  const spool = await fake(dir, `.slabio-zip-${pid}-${'c'.repeat(12)}.spool`, DAY_MS + 60_000);
  const probe = await fake(dir, `.slabio-probe-${pid}-${'d'.repeat(8)}`, DAY_MS + 60_000);
  await mkdir(join(dir, '.dest.slabio-Ab3xYz'));
  await writeFile(join(dir, '.dest.slabio-Ab3xYz', 'a.txt'), 'a');
  const when = new Date(Date.now() - DAY_MS - 60_000);
  await utimes(join(dir, '.dest.slabio-Ab3xYz'), when, when);
  const r = await sweepStale(dir);
  assert.deepEqual(removedNames(r), [old, '.dest.slabio-Ab3xYz', spool, probe].sort());
  assert.ok(r.removed.every((e) => e.reason === 'max-age'));
  assert.deepEqual(
    r.kept.map((k) => [k.path.slice(dir.length + 1), k.reason]),
    [[young, 'unverifiable']],
  );
  assert.deepEqual(await readdir(dir), [young]);
});

test('other entries are never touched: other names, a link or a directory under a temp name', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  const pid = await deadPid();
  const own = await ownFields(t);
  const stale = makeName({ ...own, lock: 'u', pid: String(pid) });
  await writeFile(join(outside, 'target'), 'keep me');
  await symlink(join(outside, 'target'), join(dir, stale));
  const asDir = makeName({ ...own, lock: 'u', pid: String(pid), rand: 'f'.repeat(12) });
  await mkdir(join(dir, asDir));
  const others = [
    'notes.txt',
    '.hidden',
    'x.slabio-1-aaaaaaaaaaaa.tmp',
    '.slabio-v1u.tmp',
    `.a.slabio-v9u.b${'0'.repeat(16)}.1.2.3-${'a'.repeat(12)}.tmp`,
  ];
  for (const n of others) await fake(dir, n, 2 * DAY_MS);
  const r = await sweepStale(dir, { maxAgeMs: 0 });
  assert.deepEqual(r, { dir, removed: [], kept: [], failed: [] });
  assert.deepEqual((await readdir(dir)).sort(), [...others, stale, asDir].sort());
  assert.equal(await readFile(join(outside, 'target'), 'utf8'), 'keep me');
});

test('target names up to 255 bytes: the temp name fits NAME_MAX and is swept', async (t) => {
  const { dir, start } = await writerDir(t);
  // 255 bytes of two-byte characters and one ASCII byte: a cut inside a character would show.
  const long = `${'é'.repeat(127)}x`;
  assert.equal(Buffer.byteLength(long), 255);
  await writeFileNoCache(join(dir, long), 'atomic', { atomic: true });
  assert.equal(await readFile(join(dir, long), 'utf8'), 'atomic');
  await extractZip(join(dir, 'input.zip'), join(dir, `${'d'.repeat(250)}.dest`));
  assert.equal(await readFile(join(dir, `${'d'.repeat(250)}.dest`, 'a.txt'), 'utf8'), 'a');
  const w = await start('writeFile', { name: long });
  assert.ok(Buffer.byteLength(w.entry) <= 255, `${Buffer.byteLength(w.entry)} bytes`);
  assert.ok(!w.entry.includes('\ufffd'), 'cut between characters');
  assert.ok(w.entry.startsWith(`.${'é'.repeat(20)}`));
  await w.kill();
  assert.deepEqual(removedNames(await sweepStale(dir)), [w.entry]);
});

test('writers and sweeps racing: a sweep never removes a live temp file', async (t) => {
  const dir = await tempDir(t);
  const url = new URL('../src/index.js', import.meta.url).href;
  // 200 atomic writes in a child while this process sweeps the directory again and again.
  const code = `const { writeFileNoCache } = await import(${JSON.stringify(url)});
    for (let i = 0; i < 200; i++) await writeFileNoCache(${JSON.stringify(join(dir, 'f'))} + (i % 4), 'v' + i, { atomic: true });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = once(child, 'exit');
  let sweeps = 0;
  // Not an after hook: the child must be gone before the directory is removed.
  try {
    // Bounded in count and time; the child needs well under a minute for its 200 writes.
    const until = Date.now() + 120_000;
    while (child.exitCode === null && sweeps < 1_000_000 && Date.now() < until) {
      const r = await sweepStale(dir, { maxAgeMs: 0 });
      assert.deepEqual(r.removed, [], 'removed a live file');
      sweeps++;
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const [exitCode] = await exited;
  assert.equal(exitCode, 0, stderr);
  assert.deepEqual((await readdir(dir)).sort(), ['f0', 'f1', 'f2', 'f3']);
  assert.equal(await readFile(join(dir, 'f3'), 'utf8'), 'v199');
  t.diagnostic(`${sweeps} sweeps during the writes`);
});

// Each in a fresh process: the automatic sweep runs once per directory per process.
const AUTO_CHILD = `
const dc = await import('node:diagnostics_channel');
const { join } = await import('node:path');
const { sweepStale, writeFileNoCache } = await import(process.env.ROOT_URL);
const seen = [];
dc.subscribe('slabio:fs:sweep', (m) => m.dir === process.env.DIR && seen.push({ scanned: m.scanned, complete: m.complete, automatic: m.automatic }));
await writeFileNoCache(join(process.env.DIR, 'a'), 'a', { atomic: true });
await writeFileNoCache(join(process.env.DIR, 'b'), 'b', { atomic: true });
await sweepStale(process.env.DIR);
console.log(JSON.stringify(seen));
`;

for (const addon of native ? [true, false] : [false]) {
  test(`the automatic sweep reads at most 10,000 entries, once per directory (${addon ? 'addon scan' : 'no addon: fs.opendir'})`, async (t) => {
    const dir = await tempDir(t);
    for (let i = 0; i < 10_001; i++) closeSync(openSync(join(dir, `f${i}`), 'w'));
    const env = {
      ...process.env,
      ROOT_URL: new URL('../src/index.js', import.meta.url).href,
      DIR: dir,
      ...(addon ? {} : NO_ADDON),
    };
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', AUTO_CHILD], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(out), [
      { scanned: 10_000, complete: false, automatic: true },
      { scanned: 10_003, complete: true, automatic: false },
    ]);
  });
}

test('sweepStale: bad arguments, an unreadable directory, abort', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(sweepStale(''), {
    name: 'TypeError',
    message: /dir must be a non-empty string/,
  });
  await assert.rejects(sweepStale(1 as unknown as string), TypeError);
  await assert.rejects(sweepStale(dir, null as unknown as object), /options must be an object/);
  for (const bad of [-1, Number.NaN, '1' as unknown as number]) {
    await assert.rejects(sweepStale(dir, { maxAgeMs: bad }), {
      name: 'RangeError',
      message: /options\.maxAgeMs/,
    });
  }
  await assert.rejects(
    sweepStale(dir, { dryRun: 1 as unknown as boolean }),
    /options\.dryRun must be a boolean/,
  );
  await assert.rejects(sweepStale(join(dir, 'missing')), { code: 'ENOENT' });
  await writeFile(join(dir, 'file'), '');
  await assert.rejects(sweepStale(join(dir, 'file')), { code: 'ENOTDIR' });
  const reason = new Error('stop');
  await assert.rejects(sweepStale(dir, { signal: AbortSignal.abort(reason) }), reason);
});
