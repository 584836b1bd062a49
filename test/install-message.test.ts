// A failed addon build at install is said where the user looks, under npm's default log level:
// npm keeps a succeeding dependency script's output to itself, so the install script also writes
// its line to the terminal or pipe npm writes to. Installs the packed package (no prebuilds) into
// a fresh project whose PATH has no compiler, once through a pipe (a CI log, `docker build`) and
// once on a terminal (`script` gives npm a pty).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bareEnv, npmCli, repoRoot } from './package-helpers.js';

const npm = npmCli();
const skip =
  process.platform !== 'linux'
    ? `the install script reaches npm's stderr through /proc (this is ${process.platform})`
    : npm === null
      ? 'npm-cli.js not found next to this Node'
      : false;
const LINE =
  /slabio: no prebuilt addon for .* and compiling it failed .*npm rebuild slabio --foreground-scripts/;

let work = '';
let tarball = '';

before(() => {
  if (skip !== false || npm === null) return;
  work = mkdtempSync(join(tmpdir(), 'slabio-install-'));
  const out = execFileSync(
    process.execPath,
    [npm, 'pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  const [info] = JSON.parse(out) as [{ filename: string }];
  tarball = join(work, info.filename);
  // The package as on a platform without a prebuild.
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked]);
  rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  tarball = join(work, 'slabio-noprebuild.tgz');
  execFileSync('tar', ['czf', tarball, '-C', unpacked, 'package']);
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** `npm install` of the tarball in a fresh project, run by the command `wrap` makes of it. */
function install(name: string, wrap: (npmCommand: string) => string[]): string {
  assert.ok(npm !== null);
  const app = join(work, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
  const env = bareEnv(join(work, `env-${name}`));
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [
    process.execPath,
    npm,
    'install',
    tarball,
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
  ]
    .map(quote)
    .join(' ');
  const [file, ...args] = wrap(command);
  const r = spawnSync(file as string, args, { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `install failed:\n${out}`);
  assert.ok(existsSync(join(app, 'node_modules', 'slabio', 'package.json')), out);
  return out;
}

test('through a pipe, with npm defaults: the failed build is said once', { skip }, () => {
  const out = install('pipe', (c) => ['/bin/sh', '-c', `${c} 2>&1 | /bin/cat`]);
  assert.match(out, LINE);
  assert.equal(out.match(new RegExp(LINE.source, 'g'))?.length, 1, out);
});

test('appended to a log file (2>>), with npm defaults: the failed build is in it', { skip }, () => {
  const log = join(work, 'npm.log');
  install('log', (c) => ['/bin/sh', '-c', `${c} >>${log} 2>&1`]);
  const text = readFileSync(log, 'utf8');
  assert.match(text, LINE);
  assert.match(text, /added \d+ packages?/, 'npm’s own output is intact');
});

const scriptBin = '/usr/bin/script';
test('on a terminal, with npm defaults: the failed build is said', {
  skip: skip !== false ? skip : existsSync(scriptBin) ? false : 'util-linux script(1) not found',
}, () => {
  const out = install('tty', (c) => [scriptBin, '-qec', c, '/dev/null']);
  assert.match(out, LINE);
});
