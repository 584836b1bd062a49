// The packed package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh
// project whose PATH has node and nothing else (no compiler, make or python), offline from the npm
// cache. With the linux-x64 prebuild in the tarball, `--ignore-scripts` still gives a working
// addon; without a prebuild for the platform, the install still succeeds and slabio falls back.
// The same install, with the peers and TypeScript beside it, is the consumer project that every
// entry point is type-checked and run in, and every code block of the documentation.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { consumerPackages } from './consumer-helpers.js';
import { failureReport } from './doc-block-run.js';
import { checkConsumerTypes, runDocBlocks, runEntryPoints } from './package-consumer.js';
import { bareEnv, installInto, npmCli, probe, repoRoot } from './package-helpers.js';

const MiB = 1 << 20;
const npm = npmCli();
const skip =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? `the shipped prebuilds are tested on linux-x64 (this is ${process.platform}-${process.arch})`
    : npm === null
      ? 'npm-cli.js not found next to this Node'
      : false;

let work = '';
let tarball = '';
let app = '';
let appEnv: NodeJS.ProcessEnv = {};

before(() => {
  if (skip !== false || npm === null) return;
  work = mkdtempSync(join(tmpdir(), 'slabio-pack-'));
  // The x64 prebuild only (arm64 needs the cross toolchain; CI builds it before the tests), then
  // pack what is there. dist/ is already built by `npm test`, so the pack skips prepack.
  const env = { ...process.env, SLABIO_PREBUILD_TARGETS: 'linux-x64' };
  const pre = spawnSync(process.execPath, ['scripts/prebuild.js'], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(pre.status, 0, `prebuild failed:\n${pre.stdout}${pre.stderr}`);
  const out = execFileSync(
    process.execPath,
    [npm, 'pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  // One install for every test below: the tarball, its peers (their own types only) and
  // TypeScript, with --ignore-scripts and no compiler on PATH.
  app = join(work, 'app');
  appEnv = bareEnv(join(work, 'env-prebuild'));
  installInto(app, npm, tarball, appEnv, ['--ignore-scripts'], consumerPackages());
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

test('the tarball ships the tested linux-x64 prebuild, and no local build', { skip }, () => {
  const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
  assert.ok(listing.includes('package/prebuilds/linux-x64/slabio.glibc.node'), listing.join('\n'));
  assert.ok(!listing.some((f) => f.startsWith('package/build/')), 'build/ must not be packed');
});

test('the tarball has the MIT LICENSE and no source or declaration maps', { skip }, (t) => {
  const unpacked = join(work, 'listing');
  execFileSync('mkdir', ['-p', unpacked]);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked]);
  const root = join(unpacked, 'package');
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 slabio contributors\n/);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
  assert.equal(pkg.license, 'MIT');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' });
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map')),
    [],
    'maps would point at src/, which is not shipped',
  );
  if (process.env.NODE_V8_COVERAGE !== undefined) {
    t.diagnostic('under coverage the build has source maps for c8: their comments are not checked');
    return;
  }
  const commented = files.filter(
    (f) =>
      /\.(js|d\.ts)$/.test(f) &&
      readFileSync(join(root, f), 'utf8').includes('//# sourceMappingURL='),
  );
  assert.deepEqual(commented, [], 'no shipped file may name a map');
});

test('installed with --ignore-scripts and no compiler: the prebuild loads and drops cache', {
  skip,
}, (t) => {
  assert.deepEqual(readdirSync(join(app, 'node_modules', 'slabio')).includes('build'), false);
  const r = probe(app, appEnv, 'out.bin', 64);
  t.diagnostic(JSON.stringify({ ...r, stderr: undefined }));
  assert.equal(r.native.available, true, r.native.reason);
  assert.equal(r.addon.source, 'prebuild');
  assert.equal(
    r.addon.path,
    join(app, 'node_modules/slabio/prebuilds/linux-x64/slabio.glibc.node'),
  );
  assert.equal(r.size, 64 * MiB);
  assert.notEqual(r.strategy, 'none');
  if (r.memoryBacked) {
    t.diagnostic('temp dir is memory-backed: its pages cannot leave the cache, count not checked');
  } else if (r.cachedBytes === null) {
    t.diagnostic('fincore (util-linux) not found: the cache count is not checked');
  } else {
    assert.ok(r.cachedBytes <= 8 * MiB, `${r.cachedBytes} bytes of the 64 MiB file cached`);
  }
  assert.doesNotMatch(r.stderr, /SLABIO_NO_NATIVE/);
});

test('no prebuild for the platform and no compiler: installs, says so, works', { skip }, (t) => {
  assert.ok(npm !== null);
  // The same package with prebuilds/ removed stands for a platform without one.
  const unpacked = join(work, 'unpacked');
  execFileSync('mkdir', ['-p', unpacked]);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked]);
  rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  const bare = join(work, 'slabio-noprebuild.tgz');
  execFileSync('tar', ['czf', bare, '-C', unpacked, 'package']);
  const app = join(work, 'app-fallback');
  const env = bareEnv(join(work, 'env-fallback'));
  // --foreground-scripts: npm shows a succeeding install script's output only then.
  const out = installInto(app, npm, bare, env, ['--foreground-scripts']);
  assert.match(
    out,
    /slabio: no prebuilt addon for linux-x64 and compiling it failed .*npm rebuild slabio/,
  );
  const r = probe(app, env, 'out.bin', 4);
  t.diagnostic(JSON.stringify({ ...r, stderr: undefined }));
  assert.equal(r.native.available, false);
  assert.equal(r.addon.source, 'none');
  assert.equal(r.addon.path, null);
  assert.equal(r.strategy, 'none');
  assert.equal(r.size, 4 * MiB);
  assert.match(r.stderr, /SLABIO_NO_NATIVE/);
});

test("every entry point type-checks in the consumer with only the peers' own types", {
  skip,
}, (t) => {
  assert.ok(npm !== null);
  checkConsumerTypes(t, app, npm, appEnv);
});

test('one call per entry point runs on plain node in the consumer', { skip }, (t) => {
  runEntryPoints(t, app, appEnv);
});

test('the doc-block harness passes each good block of its fixture and fails each bad one', {
  skip,
}, async (t) => {
  assert.ok(npm !== null);
  const fixtures = join(repoRoot, 'test', 'fixtures');
  const results = await runDocBlocks(t, app, npm, appEnv, fixtures, ['doc-blocks.md']);
  const verdicts = results.map(
    (r) => `${r.block.line} ${r.block.kind}${r.mode ? ` ${r.mode}` : ''} ${r.ok}`,
  );
  assert.deepEqual(verdicts, [
    '8 js true',
    '24 js false',
    '38 ts nodenext true',
    '38 ts bundler true',
    '51 ts nodenext false',
    '51 ts bundler false',
    '61 server true',
    '88 server false',
  ]);
  const bad = results.filter((r) => !r.ok);
  assert.match(bad[0]?.detail ?? '', /SyntaxError/);
  assert.match(bad[1]?.detail ?? '', /^doc-blocks\.md:55 TS2322 /);
  assert.match(bad[3]?.detail ?? '', /died after a connection reset mid-body/);
});

test('every code block of README.md and docs/ runs or type-checks', { skip }, async (t) => {
  // SLABIO_DOCS_ROOT runs the blocks of another checkout's documentation against this package.
  const root = process.env.SLABIO_DOCS_ROOT ?? repoRoot;
  assert.ok(npm !== null);
  const results = await runDocBlocks(t, app, npm, appEnv, root);
  const failed = results.filter((r) => !r.ok);
  assert.ok(results.length > 0, 'no block ran');
  assert.equal(failed.length, 0, `${failed.length} failed:\n${failureReport(results)}`);
});
