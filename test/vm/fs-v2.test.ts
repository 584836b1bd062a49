// The no-cache writers on ext4 under a live cgroup v2 kernel without RWF_DONTCACHE (Debian's 6.1,
// the VM of test/vm/run.sh): 'auto' falls back to the windowed strategy, a forced 'dontcache'
// is refused with the reason, and the group's file pages (memory.stat `file`) stay within the
// window while a plain write stream leaves the whole file cached.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  capabilities,
  DEFAULT_WINDOW_BYTES,
  UnsupportedError,
  writeFileNoCache,
} from '../../src/index.js';
import { MiB } from '../helpers.js';
import { leftoverGroups, makeGroup, scratchDir, vmSkip } from './vm-helpers.js';

const FILE_MIB = 96;
const WINDOW = DEFAULT_WINDOW_BYTES;

// Runs inside the group; samples its own memory.stat `file` after every MiB handed to a writer.
const CHILD = `
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
const [index, cg, dir, mib] = process.argv.slice(1);
fs.writeFileSync(cg + '/cgroup.procs', String(process.pid));
const m = await import(index);
const file = () => Number(/^file (\\d+)$/m.exec(fs.readFileSync(cg + '/memory.stat', 'utf8'))[1]);
const chunk = Buffer.alloc(1 << 20, 7);
async function* src(peak) { for (let i = 0; i < Number(mib); i++) { peak(); yield chunk; } }
const out = {};
async function run(name, write) {
  const base = file();
  let peak = 0;
  const strategy = await write(() => { peak = Math.max(peak, file() - base); });
  out[name] = { strategy, peak, end: file() - base };
  fs.unlinkSync(dir + '/' + name);
}
await run('stream', async (peak) => {
  const ws = m.createNoCacheWriteStream(dir + '/stream');
  await pipeline(src(peak), ws);
  return ws.strategy;
});
await run('writeFile', async (peak) => (await m.writeFileNoCache(dir + '/writeFile', src(peak))).strategy);
await run('plain', async (peak) => { await pipeline(src(peak), fs.createWriteStream(dir + '/plain')); return 'none'; });
console.log(JSON.stringify(out));
`;

describe('the no-cache writers on ext4, cgroup v2, no RWF_DONTCACHE (live)', {
  skip: vmSkip,
}, () => {
  after(async () => {
    assert.deepEqual(await leftoverGroups(), []);
  });

  it('the capabilities of the scratch disk: windowed yes, RWF_DONTCACHE and cachestat no', async () => {
    const caps = await capabilities(scratchDir());
    assert.equal(caps.filesystem.type, 'ext4');
    assert.equal(caps.memoryBacked, false);
    // cachestat(2) is Linux 6.5+: residency falls back to mmap + mincore here.
    assert.equal(caps.cachestat.available, false);
    assert.equal(caps.syncFileRange.available, true);
    assert.equal(caps.fadvise.available, true);
    assert.equal(caps.dontcache.available, false);
    assert.match(String(caps.dontcache.reason), /RWF_DONTCACHE/);
  });

  it("a forced 'dontcache' is refused with the reason", async () => {
    const file = path.join(scratchDir(), `slabio-vm-${process.pid}-dontcache.bin`);
    await assert.rejects(
      writeFileNoCache(file, Buffer.alloc(MiB), { strategy: 'dontcache' }),
      (err: unknown) => err instanceof UnsupportedError && /RWF_DONTCACHE/.test(err.message),
    );
  });

  it(`${FILE_MIB} MiB through each writer: file pages within the window, plain keeps them`, async (t) => {
    const g = await makeGroup('fs', 1024 * MiB);
    try {
      const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', CHILD, index, g.dir, scratchDir(), String(FILE_MIB)],
        { maxBuffer: 1 << 20 },
      );
      const r = JSON.parse(stdout) as Record<
        string,
        { strategy: string; peak: number; end: number }
      >;
      for (const [name, v] of Object.entries(r)) {
        t.diagnostic(
          `measured: ${name} (${v.strategy}): file pages peak ${(v.peak / MiB).toFixed(1)} MiB, after ${(v.end / MiB).toFixed(1)} MiB (window ${WINDOW / MiB} MiB)`,
        );
      }
      for (const name of ['stream', 'writeFile']) {
        const v = r[name] as { strategy: string; peak: number; end: number };
        assert.equal(v.strategy, 'windowed', `${name}: 'auto' falls back to windowed`);
        // At most three half-window steps are cached at once (page-cache-writer.ts).
        assert.ok(v.peak <= 1.5 * WINDOW + MiB, `${name}: peak file pages ${v.peak}`);
        assert.ok(v.end <= WINDOW, `${name}: file pages after the write ${v.end}`);
      }
      const plain = r.plain as { end: number };
      assert.ok(plain.end >= (FILE_MIB - 16) * MiB, `a plain stream keeps ${plain.end} cached`);
    } finally {
      await g.remove();
    }
  });
});
