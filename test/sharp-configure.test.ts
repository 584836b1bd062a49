import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { configureSharp, type SharpConfigReport } from 'slabio/sharp';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const initialConcurrency = sharp.concurrency();

after(() => {
  sharp.cache(true);
  sharp.concurrency(initialConcurrency);
});

describe('configureSharp', () => {
  it('defaults: operation cache off, one libvips thread per image, and a report of both', () => {
    sharp.concurrency(3);
    const report = configureSharp({ warnMallocArena: false });
    assert.deepEqual(report.cache, { memory: 0, files: 0, items: 0 });
    assert.equal(report.concurrency, 1);
    assert.equal(report.previousConcurrency, 3);
    assert.equal(sharp.concurrency(), 1);
    assert.deepEqual(sharp.cache(), {
      memory: { current: 0, high: 0, max: 0 },
      files: { current: 0, max: 0 },
      items: { current: 0, max: 0 },
    });
    assert.equal(report.versions.vips, sharp.versions.vips);
    assert.ok(report.threadpoolSize >= 1);
    assert.ok(['glibc', 'musl', 'other'].includes(report.libc));
  });

  it('bounded cache and a thread count are applied as given; missing limits take sharp defaults', () => {
    const report = configureSharp({
      cache: { memory: 10 },
      concurrency: 2,
      warnMallocArena: false,
    });
    assert.deepEqual(report.cache, { memory: 10, files: 20, items: 100 });
    assert.equal(sharp.cache().memory.max, 10);
    assert.equal(report.concurrency, 2);
    assert.equal(sharp.concurrency(), 2);
  });

  it('bad options are TypeError/RangeError naming the option', () => {
    assert.throws(() => configureSharp({ cache: true as never }), /options\.cache must be false/);
    assert.throws(() => configureSharp({ concurrency: -1 }), RangeError);
    assert.throws(() => configureSharp({ concurrency: 1.5 }), /options\.concurrency.*1\.5/);
    assert.throws(() => configureSharp({ cache: { memory: -1 } }), /options\.cache\.memory/);
    assert.throws(() => configureSharp({ warnMallocArena: 'yes' as never }), TypeError);
    assert.throws(() => configureSharp(null as never), TypeError);
  });
});

interface ChildResult {
  warnings: { code: string; message: string }[];
  report: SharpConfigReport;
}

/** configureSharp twice in a fresh process with `env`; the warnings it emitted and its report. */
async function inChild(env: NodeJS.ProcessEnv, options = '{}'): Promise<ChildResult> {
  const script = `
    import { configureSharp } from 'slabio/sharp';
    const warnings = [];
    process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
    configureSharp(${options});
    const report = configureSharp(${options});
    // process.emitWarning emits on the next tick: every warning is out before the next macrotask.
    await new Promise((r) => setImmediate(r));
    console.log(JSON.stringify({ warnings, report }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    env,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ChildResult;
}

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

describe('MALLOC_ARENA_MAX warning (fresh processes)', () => {
  it('glibc without MALLOC_ARENA_MAX: warned once (code SLABIO_MALLOC_ARENA) for two calls', async (t) => {
    const { warnings, report } = await inChild(envWithout('MALLOC_ARENA_MAX', 'LD_PRELOAD'));
    if (report.libc !== 'glibc' || report.preloadedAllocator !== null) {
      t.skip(`not glibc malloc here (libc ${report.libc}, preloaded ${report.preloadedAllocator})`);
      assert.deepEqual(warnings, []);
      return;
    }
    assert.equal(report.mallocArenaWarning, true);
    assert.equal(report.mallocArenaMax, null);
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['SLABIO_MALLOC_ARENA'],
    );
    assert.match(warnings[0]?.message ?? '', /MALLOC_ARENA_MAX=2/);
  });

  it('MALLOC_ARENA_MAX set: no warning, the value is reported', async () => {
    const { warnings, report } = await inChild({
      ...envWithout('LD_PRELOAD'),
      MALLOC_ARENA_MAX: '2',
    });
    assert.deepEqual(warnings, []);
    assert.equal(report.mallocArenaMax, '2');
    assert.equal(report.mallocArenaWarning, false);
  });

  it('warnMallocArena: false keeps quiet but still reports the condition', async () => {
    const { warnings, report } = await inChild(
      envWithout('MALLOC_ARENA_MAX', 'LD_PRELOAD'),
      '{ warnMallocArena: false }',
    );
    assert.deepEqual(warnings, []);
    assert.equal(
      report.mallocArenaWarning,
      report.libc === 'glibc' && report.preloadedAllocator === null,
    );
  });
});
