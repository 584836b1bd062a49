import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nativeAvailable } from '../src/linux/index.js';
import { MiB, tempDir } from './helpers.js';

const ROOT = '/sys/fs/cgroup/memory';
const WINDOW = 8 * MiB;
const FILE_MIB = 512;

/** Create a child memory cgroup (v1), or say why not. */
function makeCgroup(): { dir: string } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'not Linux' };
  if (!nativeAvailable()) return { skip: 'native addon not loaded' };
  const dir = join(ROOT, `slabio-test-${process.pid}`);
  try {
    mkdirSync(dir);
    return { dir };
  } catch (err) {
    return { skip: `cannot create a memory cgroup under ${ROOT}: ${(err as Error).message}` };
  }
}

// Runs in a child process that first moves itself into the cgroup, so everything it writes and
// reads is charged there; memory.stat is sampled from inside the write loop.
const CHILD = `
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
const [index, cg, dir, mib] = process.argv.slice(1);
const m = await import(index);
fs.writeFileSync(cg + '/cgroup.procs', String(process.pid));
const stat = () => Object.fromEntries(fs.readFileSync(cg + '/memory.stat', 'utf8').trim().split('\\n').map((l) => { const [k, v] = l.split(' '); return [k, Number(v)]; }));
const chunk = Buffer.alloc(1 << 20, 7);
async function* src(sample) { for (let i = 0; i < Number(mib); i++) { if (i % 4 === 0) sample(); yield chunk; } }
const a = dir + '/nocache.bin', b = dir + '/plain.bin';
let base = stat().total_cache, maxA = 0;
const ws = m.createNoCacheWriteStream(a);
await pipeline(src(() => { maxA = Math.max(maxA, stat().total_cache - base); }), ws);
const endA = stat().total_cache - base;
base = stat().total_cache;
await pipeline(src(() => {}), fs.createWriteStream(b));
const endB = stat().total_cache - base;
fs.unlinkSync(b);
const pool = new m.BufferPool({ maxBytes: 1 << 30 });
const act0 = stat().total_active_file;
for (let i = 0; i < 2; i++) (await m.readFileNoCache(a, { pool })).release();
const activeNoCache = stat().total_active_file - act0;
for (let i = 0; i < 2; i++) await fs.promises.readFile(a);
const activePlain = stat().total_active_file - act0;
fs.unlinkSync(a);
console.log(JSON.stringify({ strategy: ws.strategy, maxA, endA, endB, activeNoCache, activePlain }));
`;

test(`inside a memory cgroup: ${FILE_MIB} MiB through the no-cache writer and reader vs plain fs`, async (t) => {
  const cg = makeCgroup();
  if ('skip' in cg) {
    t.skip(cg.skip);
    return;
  }
  try {
    const dir = await tempDir(t);
    const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', CHILD, index, cg.dir, dir, String(FILE_MIB)],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout) as Record<string, number | string>;
    t.diagnostic(JSON.stringify(r));
    const n = (k: string): number => r[k] as number;
    assert.ok(n('maxA') < 2 * WINDOW + 8 * MiB, `no-cache writer peak total_cache ${n('maxA')}`);
    assert.ok(n('endA') < 2 * WINDOW, `no-cache writer final total_cache ${n('endA')}`);
    assert.ok(
      n('endB') > (FILE_MIB - 64) * MiB,
      `createWriteStream final total_cache ${n('endB')}`,
    );
    assert.ok(
      n('activeNoCache') < 16 * MiB,
      `readFileNoCache total_active_file ${n('activeNoCache')}`,
    );
    assert.ok(
      n('activePlain') > (FILE_MIB - 128) * MiB,
      `fs.readFile total_active_file ${n('activePlain')}`,
    );
  } finally {
    // The child has exited, so the group has no tasks; its remaining charges move to the parent.
    rmdirSync(cg.dir);
  }
});
