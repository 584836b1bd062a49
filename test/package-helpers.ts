import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** npm's CLI script: the one running `npm test`, or the copy bundled with this Node. */
export function npmCli(): string | null {
  const candidates = [
    process.env.npm_execpath,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  return candidates.find((c) => c?.endsWith('.js') && existsSync(c)) ?? null;
}

/**
 * A PATH holding only `node` and `sh` (npm runs scripts through it): no compiler, make or python,
 * as in a slim image. The environment
 * drops npm's script variables (npm_config_node_gyp and friends) so the install sees what a user's
 * shell would give it; the npm cache stays, so `--prefer-offline` finds the dependencies there.
 */
export function bareEnv(dir: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return env;
}

/**
 * A fresh project in `dir` with `tarball` (and `packages`, npm specs) installed by npm; returns
 * npm's output (both streams).
 */
export function installInto(
  dir: string,
  npm: string,
  tarball: string,
  env: NodeJS.ProcessEnv,
  flags: string[],
  packages: string[] = [],
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
  const r = spawnSync(
    process.execPath,
    [npm, 'install', tarball, ...packages, '--prefer-offline', '--no-audit', '--no-fund', ...flags],
    { cwd: dir, env, encoding: 'utf8', timeout: 300_000 },
  );
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm install failed (${r.status ?? r.error}):\n${out}`);
  return out;
}

/**
 * Runs in the installed project (ESM, the installed `slabio`): the addon's origin, and a 64 MiB
 * no-cache write whose page cache is then read by `fincore` (util-linux) when present.
 */
const PROBE = `
import { capabilities, writeFileNoCache } from 'slabio';
import { readFileSync, statSync } from 'node:fs';
const [file, mib] = process.argv.slice(1);
const caps = await capabilities('.');
const chunk = Buffer.alloc(1 << 20);
for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE(i * 2654435761 >>> 0, i);
async function* data() { for (let i = 0; i < Number(mib); i++) yield chunk; }
const result = await writeFileNoCache(file, data());
console.log(JSON.stringify({ native: caps.native, addon: caps.addon, memoryBacked: caps.memoryBacked,
  strategy: result.strategy, size: statSync(file).size }));
`;

export interface ProbeResult {
  native: { available: boolean; reason?: string };
  addon: { source: string; path: string | null };
  memoryBacked: boolean;
  strategy: string;
  size: number;
  /** Bytes of the file in the page cache after the write, as fincore reports them. */
  cachedBytes: number | null;
  stderr: string;
}

/** Runs {@link PROBE} in `dir` writing `mib` MiB to `file`, then measures the file's cache. */
export function probe(dir: string, env: NodeJS.ProcessEnv, file: string, mib: number): ProbeResult {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, file, String(mib)], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`probe failed (${r.status ?? r.error}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as Omit<ProbeResult, 'cachedBytes' | 'stderr'>;
  return { ...out, cachedBytes: fincoreBytes(join(dir, file)), stderr: r.stderr };
}

/** The kernel's count of `file`'s cached bytes via util-linux `fincore`; null without it. */
function fincoreBytes(file: string): number | null {
  try {
    const out = execFileSync(
      'fincore',
      ['--bytes', '--noheadings', '--raw', '--output', 'RES', file],
      {
        encoding: 'utf8',
      },
    );
    return Number(out.trim());
  } catch {
    return null;
  }
}
