import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { nativeAvailable } from '../src/linux/index.js';
import {
  MemoryGuard,
  PageCacheRegistry,
  type ReliefReport,
  readCgroupMemory,
} from '../src/memory/index.js';
import { createTestCgroup, reap, spawnInCgroup } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

const FILE_MiB = 64;

// The child writes a file, fsyncs it and reads it back twice through a 1 MiB buffer (so its own
// heap stays small): the second read moves the pages to the active LRU, which is what puts page
// cache into the working set.
const CHILD = `
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin });
const say = (s) => process.stdout.write(s + '\\n');
say('joined');
for await (const line of lines) {
  if (line !== 'fill') continue;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const fh = await open(process.env.FILE, 'w');
  for (let i = 0; i < ${FILE_MiB}; i++) await fh.write(chunk);
  await fh.sync();
  await fh.close();
  for (let pass = 0; pass < 2; pass++) {
    const r = await open(process.env.FILE, 'r');
    while ((await r.read(chunk, 0, chunk.length)).bytesRead > 0);
    await r.close();
  }
  say('filled');
}
`;

it('drops the page cache of a child cgroup past the soft threshold (live)', async (t) => {
  if (!nativeAvailable()) {
    t.skip('the native addon is not built here, so page cache cannot be dropped');
    return;
  }
  const cg = await createTestCgroup('guard', 512 * MiB);
  if (typeof cg === 'string') {
    t.skip(cg);
    return;
  }
  const file = path.join(os.tmpdir(), `slabio-test-${process.pid}-guard.bin`);
  const child = spawnInCgroup(cg.dir, CHILD, { FILE: file });
  t.after(async () => {
    child.stdin?.end();
    await reap(child);
    await cg.remove();
    await rm(file, { force: true });
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const next = async () => ((await once(lines, 'line')) as [string])[0];

  assert.equal(await next(), 'joined');
  const base = await readCgroupMemory({ cgroupDir: cg.dir });
  child.stdin?.write('fill\n');
  assert.equal(await next(), 'filled');
  const filled = await readCgroupMemory({ cgroupDir: cg.dir });
  assert.ok(
    filled.activeFile >= (FILE_MiB / 2) * MiB,
    `reading twice should activate the file's pages, active_file ${filled.activeFile}`,
  );
  assert.ok(filled.workingSet >= base.workingSet + (FILE_MiB / 2) * MiB);

  const registry = new PageCacheRegistry();
  registry.track(file);
  const softBytes = base.workingSet + (FILE_MiB / 2) * MiB;
  const guard = new MemoryGuard({
    soft: softBytes,
    hard: 480 * MiB,
    hysteresis: 4 * MiB,
    intervalMs: 0,
    registry,
    mallocTrim: false,
    reader: { cgroupDir: cg.dir },
  });
  const soft = once(guard, 'soft') as Promise<[ReliefReport]>;
  const first = await guard.sample();
  assert.equal(first.state, 'soft');
  const [report] = await soft;
  assert.equal(report.droppedFiles, 1);
  assert.deepEqual(report.errors, []);
  assert.ok(
    report.after.workingSet < softBytes,
    `working set ${report.after.workingSet} should fall below the soft threshold ${softBytes}`,
  );
  const second = await guard.sample();
  assert.equal(second.state, 'ok');
  assert.equal(guard.stats().recoveries, 1);
  assert.equal(guard.stats().pageCacheDrops, 1);
  t.diagnostic(
    `working set: base ${(base.workingSet / MiB).toFixed(1)} MiB, filled ${(filled.workingSet / MiB).toFixed(1)} MiB (active_file ${(filled.activeFile / MiB).toFixed(1)} MiB), after the guard ${(report.after.workingSet / MiB).toFixed(1)} MiB`,
  );
});
