import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { readCgroupMemory } from '../src/memory/index.js';
import { collect, createTestCgroup, reap, spawnInCgroup } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

it('reads its own child cgroup on this machine (live)', async (t) => {
  const cg = await createTestCgroup('read', 64 * MiB);
  if (typeof cg === 'string') {
    t.skip(cg);
    return;
  }
  // The child touches 16 MiB of anonymous memory, then reports what readCgroupMemory sees from
  // inside the group, next to the raw file contents read right after.
  const child = spawnInCgroup(
    cg.dir,
    `const { readCgroupMemory } = await import(process.env.SLABIO_MEMORY);
     const ballast = Buffer.alloc(16 * 1024 * 1024, 1);
     const m = await readCgroupMemory();
     process.stdout.write(JSON.stringify({ m, own: ballast.length }));`,
  );
  t.after(async () => {
    await reap(child);
    await cg.remove();
  });
  const { m } = JSON.parse(await collect(child));
  assert.equal(m.source, `cgroup-v${cg.version}`);
  assert.equal(m.path, `/${path.basename(cg.dir)}`);
  assert.equal(m.dir, cg.dir);
  assert.equal(m.limit, 64 * MiB);
  assert.ok(m.anon >= 16 * MiB, `anon ${m.anon} should hold the 16 MiB ballast`);
  assert.ok(m.usage >= m.anon);
  assert.equal(m.workingSet, Math.max(0, m.usage - m.inactiveFile));
  assert.equal(m.headroom, m.limit - m.workingSet);

  // From outside, via cgroupDir, the same group reads with the same limit and a working set no
  // larger than the usage; the child has exited, so only its page cache may remain charged.
  const outside = await readCgroupMemory({ cgroupDir: cg.dir });
  assert.equal(outside.version, cg.version);
  assert.equal(outside.limit, 64 * MiB);
  const limitFile = cg.version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
  assert.equal(Number((await readFile(path.join(cg.dir, limitFile), 'utf8')).trim()), 64 * MiB);
});
