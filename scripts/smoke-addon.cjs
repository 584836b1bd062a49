// Loads one slabio addon binary by path and calls every binding it exports once, on a temp file.
// CommonJS and free of slabio's own code, so any Node the addon's N-API version allows can run it
// (the linux-arm64 prebuild is checked with Debian's arm64 Node 18 under qemu-user).
// Usage: node scripts/smoke-addon.cjs path/to/slabio.node
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const addon = require(path.resolve(process.argv[2]));
// Every export must be exercised below; a new binding without a check here fails the prebuild.
const checked = new Set([
  'mallocTrim',
  'mallocInfo',
  'glibc',
  'linux',
  'fadvise',
  'syncFileRange',
  'pwritev2',
  'preadv2',
  'cachestat',
  'mincore',
  'tryLock',
  'scanDir',
  'constants',
  'CgroupWatcher',
]);
const unchecked = Object.keys(addon).filter((k) => !checked.has(k));
assert.deepEqual(unchecked, [], `exports without a smoke check: ${unchecked.join(', ')}`);

async function main() {
  assert.equal(addon.linux, true);
  assert.equal(addon.glibc, true);
  assert.equal(typeof addon.mallocTrim(), 'boolean');
  const mi = addon.mallocInfo();
  for (const k of ['arenaBytes', 'inUseBytes', 'freeBytes', 'mmapBytes', 'releasableBytes'])
    assert.ok(Number.isFinite(mi[k]) && mi[k] >= 0, `mallocInfo().${k} = ${mi[k]}`);
  const c = addon.constants;
  for (const [k, v] of Object.entries(c)) assert.ok(Number.isInteger(v), `constants.${k} = ${v}`);
  assert.ok(c.PAGE_SIZE >= 4096);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabio-smoke-'));
  const file = path.join(dir, 'smoke.bin');
  const fd = fs.openSync(file, 'w+');
  const fd2 = fs.openSync(file, 'r');
  try {
    const data = Buffer.alloc(2 * c.PAGE_SIZE, 0x5a);
    assert.equal(
      await addon.pwritev2(fd, [data.subarray(0, 100), data.subarray(100)], 0, 0),
      data.length,
    );
    const back = Buffer.alloc(data.length);
    assert.equal(await addon.preadv2(fd, [back], 0, 0), data.length);
    assert.deepEqual(back, data);
    await addon.syncFileRange(fd, 0, 0, c.SYNC_FILE_RANGE_WRITE | c.SYNC_FILE_RANGE_WAIT_AFTER);
    await addon.fadvise(fd, 0, 0, c.POSIX_FADV_DONTNEED);
    const cs = await addon.cachestat(fd, 0, 0).catch((err) => {
      // Kernels before 6.5 (ENOSYS) or an old seccomp filter (EPERM) refuse the syscall.
      assert.ok(
        err.errno === -os.constants.errno.ENOSYS || err.errno === -os.constants.errno.EPERM,
        String(err),
      );
      return null;
    });
    if (cs !== null) assert.ok(Number.isFinite(cs.cachedBytes), JSON.stringify(cs));
    const mc = await addon.mincore(fd);
    assert.equal(mc.bytes, data.length);
    assert.ok(mc.cachedBytes >= 0 && mc.cachedBytes <= data.length);
    assert.equal(await addon.tryLock(fd), true);
    assert.equal(await addon.tryLock(fd2), false);
    const scan = await addon.scanDir(dir, 10, 'smoke');
    assert.deepEqual(scan.names, ['smoke.bin']);
    assert.equal(scan.complete, true);
    // The memory guard's watcher thread: on plain files (no cgroup.event_control) it re-reads the
    // usage on its period and calls back once the working set reaches the armed level.
    const usage = path.join(dir, 'memory.usage_in_bytes');
    const stat = path.join(dir, 'memory.stat');
    fs.writeFileSync(usage, '2000000\n');
    fs.writeFileSync(stat, 'total_inactive_file 0\n');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('CgroupWatcher did not call back')), 60_000);
      const w = new addon.CgroupWatcher(usage, stat, 'total_inactive_file', null, 5, () => {
        clearTimeout(timer);
        w.close();
        resolve();
      });
      assert.ok(['poll', 'starting'].includes(w.mode()), w.mode());
      w.arm(1000);
    });
    // The error path: a kernel failure rejects with the errno negated (as Node's errors carry
    // it) and the syscall's name.
    const closed = fs.openSync(file, 'r');
    fs.closeSync(closed);
    await assert.rejects(addon.fadvise(closed, 0, 0, c.POSIX_FADV_DONTNEED), (err) => {
      assert.equal(err.errno, -os.constants.errno.EBADF, String(err));
      assert.equal(typeof err.syscall, 'string');
      return true;
    });
  } finally {
    fs.closeSync(fd);
    fs.closeSync(fd2);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`smoke ok: ${checked.size} exports on ${process.arch}, Node ${process.version}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
