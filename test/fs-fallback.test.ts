// Without the native addon: dropCache drops nothing and says so, residency refuses (it has nothing
// to measure with), and the one SLABIO_NO_NATIVE warning says why the addon is off and what to do:
// disabled by SLABIO_NATIVE=0 (unset it) or failed to load (the error; rebuild it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Outcome {
  dropped: { dropped: boolean; reason?: string };
  missing: string | null;
  residency: { code: string; message: string } | null;
  warnings: { code: string; message: string }[];
}

/** Run the fallback calls against the root entry at `index` and report what happened. */
function run(index: string, file: string, env: NodeJS.ProcessEnv): Outcome {
  const script = `
    const m = await import(${JSON.stringify(index)});
    const warnings = [];
    process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
    const file = ${JSON.stringify(file)};
    const dropped = await m.dropCache(file);
    await m.dropCache(file);
    const missing = await m.dropCache(file + '.missing').then(() => null, (e) => e.code);
    const residency = await m.residency(file).then(() => null, (e) => ({ code: e.code, message: e.message }));
    await new Promise((r) => setImmediate(r));
    console.log(JSON.stringify({ dropped, missing, residency, warnings }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out) as Outcome;
}

test('SLABIO_NATIVE=0: dropCache is a no-op that says so, residency refuses, the warning says to unset it', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'f.bin');
  writeFileSync(file, Buffer.alloc(8192, 1));
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const r = run(index, file, { ...process.env, SLABIO_NATIVE: '0' });
  assert.equal(r.dropped.dropped, false);
  assert.match(r.dropped.reason ?? '', /disabled by SLABIO_NATIVE=0; unset SLABIO_NATIVE/);
  // A missing file is refused with or without the addon.
  assert.equal(r.missing, 'ENOENT');
  assert.equal(r.residency?.code, 'ERR_SLABIO_UNSUPPORTED');
  assert.match(r.residency?.message ?? '', /SLABIO_NATIVE=0/);
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  const [w] = r.warnings;
  assert.equal(w?.code, 'SLABIO_NO_NATIVE');
  assert.match(w?.message ?? '', /disabled by SLABIO_NATIVE=0; unset SLABIO_NATIVE to enable it/);
  assert.doesNotMatch(w?.message ?? '', /compiler|rebuild/);
});

test('addon missing from the package: the warning gives the load error and how to build it', async (t) => {
  const dir = await tempDir(t);
  // The package as installed without build/ and prebuilds/: node-gyp-build finds no binary.
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  cpSync(join(repo, 'dist', 'src'), join(pkg, 'dist', 'src'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  const file = join(dir, 'f.bin');
  writeFileSync(file, Buffer.alloc(8192, 1));
  const env = { ...process.env };
  delete env.SLABIO_NATIVE;
  const r = run(join(pkg, 'dist', 'src', 'index.js'), file, env);
  assert.equal(r.dropped.dropped, false);
  assert.equal(r.residency?.code, 'ERR_SLABIO_UNSUPPORTED');
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  const message = r.warnings[0]?.message ?? '';
  assert.match(message, /failed to load \(No native build was found/);
  assert.match(message, /npm rebuild slabio --foreground-scripts/);
  assert.match(message, /C\+\+ compiler/);
  assert.doesNotMatch(message, /SLABIO_NATIVE=0/);
});
