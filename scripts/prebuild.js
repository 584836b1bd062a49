// `npm run prebuilds` (and `prepack`; not named `prebuild`, which npm would run before every
// `npm run build`): makes the N-API addon binaries shipped in the package under
// prebuilds/<platform>-<arch>/slabio.glibc.node, where node-gyp-build finds them before it tries
// to compile. Each binary is built with prebuildify in a scratch copy of the package (so the
// developer's own build/ is left alone), loaded and smoke-tested (scripts/smoke-addon.cjs), and
// only then copied into prebuilds/: an untested binary never ships.
//
// Targets: linux-x64 (native) and linux-arm64 (cross-compiled with aarch64-linux-gnu-g++, run
// under qemu-aarch64 with Debian's arm64 Node from the sysroot that scripts/arm64-sysroot.sh
// makes). SLABIO_PREBUILD_TARGETS=linux-x64 limits the run to the listed targets; the others in
// prebuilds/ are kept as they are. A binary newer than its sources is not rebuilt (--force does).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const sysroot = path.resolve(
  root,
  process.env.SLABIO_ARM64_SYSROOT ?? path.join('.cache', 'arm64-sysroot'),
);
const TARGETS = {
  'linux-x64': { arch: 'x64', env: {}, strip: 'strip', run: [process.execPath] },
  'linux-arm64': {
    arch: 'arm64',
    env: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
    },
    strip: 'aarch64-linux-gnu-strip',
    run: ['qemu-aarch64-static', '-L', sysroot, path.join(sysroot, 'usr', 'bin', 'node')],
    needs: `the aarch64 cross compiler, qemu-user and an arm64 Node sysroot: run \`bash scripts/arm64-sysroot.sh\` (Debian, root) or set SLABIO_PREBUILD_TARGETS=linux-x64`,
  },
};
// Every file the binary is built from: a binary older than any of them is rebuilt.
const SOURCES = [
  ...readdirSync(path.join(root, 'native'))
    .filter((f) => /\.(cc|c|h|hh)$/.test(f))
    .map((f) => `native/${f}`),
  'binding.gyp',
  'scripts/prebuild.js',
  'scripts/smoke-addon.cjs',
];

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

// Progress goes to stderr: `npm pack --json` runs this as prepack and its stdout must stay JSON.
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 2, 2], timeout: 600_000, ...options });
  if (r.status !== 0) {
    fail(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
  }
  return r;
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Highest GLIBC_x.y symbol version the binary references: the oldest glibc it loads on. */
function glibcFloor(file) {
  const r = spawnSync('readelf', ['--dyn-syms', '--wide', file], { encoding: 'utf8' });
  if (r.status !== 0) return 'unknown (readelf failed)';
  const versions = [...r.stdout.matchAll(/@GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
    Number(m[3] ?? 0),
  ]);
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const top = versions.at(-1);
  return top === undefined ? 'none' : top.filter((n, i) => i < 2 || n > 0).join('.');
}

function nodeGyp() {
  // npm puts its own node-gyp in npm_config_node_gyp for scripts; outside npm, use the copy
  // bundled with the npm next to this Node.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const bundled = path.join(
    path.dirname(process.execPath),
    '..',
    'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  );
  if (existsSync(bundled)) return bundled;
  return fail('node-gyp not found (run through npm: `npm run prebuilds`)');
}

function upToDate(file) {
  if (process.argv.includes('--force') || !existsSync(file)) return false;
  const built = statSync(file).mtimeMs;
  return SOURCES.every((s) => statSync(path.join(root, s)).mtimeMs < built);
}

function buildTarget(name, target) {
  const dest = path.join(root, 'prebuilds', name, 'slabio.glibc.node');
  if (upToDate(dest)) {
    console.error(`prebuild ${name}: up to date (${path.relative(root, dest)})`);
    return;
  }
  const tools = [target.env.CXX, target.run[0]].filter((t) => t && !path.isAbsolute(t));
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length > 0 || (target.needs && !existsSync(target.run.at(-1)))) {
    const why = `${name} needs ${target.needs} (missing: ${missing.join(', ') || target.run.at(-1)})`;
    // Named explicitly (SLABIO_PREBUILD_TARGETS, as .ci/run does): a missing toolchain is an
    // error. Otherwise (a developer's `npm pack`) the target is skipped, and an out-of-date
    // binary of it is removed so that a stale one never ships.
    if (process.env.SLABIO_PREBUILD_TARGETS !== undefined) fail(why);
    rmSync(dest, { force: true });
    console.error(`prebuild: skipped: ${why}; the package will have no ${name} binary`);
    return;
  }
  const stage = mkdtempSync(path.join(os.tmpdir(), 'slabio-prebuild-'));
  try {
    for (const f of ['package.json', 'binding.gyp', 'native']) {
      cpSync(path.join(root, f), path.join(stage, f), { recursive: true });
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
    const env = { ...process.env, ...target.env, PREBUILD_NODE_GYP: nodeGyp() };
    // Node's own headers (<prefix>/include/node) serve every target: N-API headers are the same
    // on every architecture, and using them means no download.
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (!env.npm_config_nodedir && existsSync(path.join(prefix, 'include/node/node_api.h'))) {
      env.npm_config_nodedir = prefix;
    }
    const bin = path.join(root, 'node_modules/prebuildify/bin.js');
    const args = [bin, '--napi', '--tag-libc', '--strip', `--strip-bin=${target.strip}`];
    run(process.execPath, [...args, `--arch=${target.arch}`, '--quiet'], { cwd: stage, env });
    const built = path.join(stage, 'prebuilds', name, 'slabio.glibc.node');
    if (!existsSync(built)) fail(`${name}: prebuildify made no ${path.relative(stage, built)}`);
    const [runner, ...runArgs] = target.run;
    run(runner, [...runArgs, path.join(root, 'scripts/smoke-addon.cjs'), built], {
      timeout: 120_000,
    });
    mkdirSync(path.dirname(dest), { recursive: true });
    cpSync(built, dest);
    const kib = Math.round(statSync(dest).size / 1024);
    console.error(`prebuild ${name}: ${kib} KiB, needs glibc >= ${glibcFloor(dest)}`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(`prebuilds are made on linux-x64 (this is ${process.platform}-${process.arch})`);
}
const wanted = (process.env.SLABIO_PREBUILD_TARGETS ?? Object.keys(TARGETS).join(','))
  .split(',')
  .map((t) => t.trim())
  .filter((t) => t !== '');
for (const name of wanted) {
  const target = TARGETS[name];
  if (target === undefined) {
    fail(`unknown target ${name} in SLABIO_PREBUILD_TARGETS (known: ${Object.keys(TARGETS)})`);
  }
  buildTarget(name, target);
}
