import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mallocInfo, mallocTrim, nativeAvailable, nativeLoadError } from '../src/linux/index.js';
import { MiB } from './helpers.js';

const onLinux = process.platform === 'linux';
const disabled = process.env.SLABIO_NATIVE === '0';

function rss(): number {
  return process.memoryUsage.rss();
}

async function settle(): Promise<void> {
  // ArrayBuffer backing stores are freed by V8's sweeper, possibly on a background thread: collect
  // twice and yield so the frees reach malloc before measuring.
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the addon is built and loads on Linux (npm install builds it)', {
  skip: !onLinux || disabled,
}, () => {
  assert.equal(nativeLoadError(), null);
  assert.equal(nativeAvailable(), true);
});

test('mallocInfo reports the arena in bytes', { skip: !onLinux || disabled }, () => {
  const info = mallocInfo();
  assert.ok(info !== null, 'glibc >= 2.33 expected on this machine');
  for (const k of ['arenaBytes', 'inUseBytes', 'freeBytes', 'mmapBytes'] as const) {
    assert.equal(typeof info[k], 'number');
    assert.ok(info[k] >= 0, k);
  }
  assert.ok(info.inUseBytes > 0);
});

test('mallocTrim() hands freed arena memory back to the OS', {
  skip: !onLinux || disabled,
}, async () => {
  assert.ok(globalThis.gc, 'run with --expose-gc');
  // First round: 1 MiB chunks are above the initial 128 KiB mmap threshold, so glibc mmaps them;
  // freeing one raises the dynamic threshold to 1 MiB and later rounds come from the arena.
  let warm: Uint8Array[] | null = Array.from({ length: 8 }, () => new Uint8Array(MiB).fill(1));
  warm = null;
  await settle();

  const count = 300;
  let burst: (Uint8Array | null)[] = Array.from({ length: count }, () =>
    new Uint8Array(MiB).fill(7),
  );
  // Keep every 10th chunk alive so the freed ones are holes inside the heap: glibc's automatic
  // top-of-heap trimming cannot return them, only malloc_trim can.
  const keep = burst.filter((_, i) => i % 10 === 9);
  burst = [];
  await settle();
  assert.equal(warm, null);

  const before = rss();
  const freeBefore = mallocInfo()?.freeBytes ?? 0;
  const released = mallocTrim();
  const after = rss();
  assert.equal(keep.length, count / 10);
  assert.ok(freeBefore > 100 * MiB, `expected >100 MiB free in the arenas, got ${freeBefore}`);
  assert.equal(released, true);
  assert.ok(
    before - after > 100 * MiB,
    `RSS should drop by >100 MiB after mallocTrim: ${before} -> ${after}`,
  );
});

test('without the addon: no throw, mallocTrim false, mallocInfo null, reason recorded', () => {
  const here = fileURLToPath(new URL('../src/linux/index.js', import.meta.url));
  const script = `
    const m = await import(${JSON.stringify(here)});
    console.log(JSON.stringify({ a: m.nativeAvailable(), t: m.mallocTrim(), i: m.mallocInfo(), e: m.nativeLoadError()?.message }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SLABIO_NATIVE: '0' },
    encoding: 'utf8',
  });
  const r = JSON.parse(out) as { a: boolean; t: boolean; i: unknown; e: string };
  assert.deepEqual({ a: r.a, t: r.t, i: r.i }, { a: false, t: false, i: null });
  assert.match(r.e, /SLABIO_NATIVE=0/);
});
