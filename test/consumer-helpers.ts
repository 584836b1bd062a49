// A consumer project for the packed package: the tarball with the peers and TypeScript installed
// from the npm cache, and TypeScript run on it as a user's build would run it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './package-helpers.js';

/** The peers (only their own types: none of @types/pdfkit, @types/yauzl, @types/qrcode) and tools. */
const CONSUMER_PACKAGES = ['sharp', 'pdfkit', 'qrcode', 'yauzl', 'prom-client', 'typescript'];

/** `name@version` as this repository has it installed, so the npm cache holds it. */
export function pinned(name: string): string {
  const pkg = JSON.parse(
    readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'),
  ) as { version: string };
  return `${name}@${pkg.version}`;
}

/** What the shared consumer install adds next to the tarball. */
export function consumerPackages(): string[] {
  return [...CONSUMER_PACKAGES, '@types/node'].map(pinned);
}

/** How a user's tsconfig resolves modules. */
export type Resolution = 'nodenext' | 'bundler';
export const RESOLUTIONS: readonly Resolution[] = ['nodenext', 'bundler'];

export interface TsconfigOptions {
  resolution: Resolution;
  files: string[];
  /** `compilerOptions.types`. @default ['node'] */
  types?: string[];
  /** Emit JavaScript there (nodenext only); else `noEmit`. */
  outDir?: string;
  /** Treat every file as a module even without import or export (doc blocks). */
  forceModules?: boolean;
}

/**
 * Write `tsconfig.<name>.json` in `dir`: strict, `skipLibCheck` off (so every declaration file the
 * program reaches is checked), target es2022 with the disposable lib for `using`.
 */
export function writeTsconfig(dir: string, name: string, o: TsconfigOptions): string {
  const compilerOptions: Record<string, unknown> = {
    target: 'es2022',
    lib: ['es2022', 'esnext.disposable'],
    strict: true,
    skipLibCheck: false,
    types: o.types ?? ['node'],
    ...(o.resolution === 'nodenext'
      ? { module: 'nodenext', moduleResolution: 'nodenext' }
      : { module: 'esnext', moduleResolution: 'bundler' }),
    ...(o.outDir === undefined ? { noEmit: true } : { outDir: o.outDir, rootDir: '.' }),
    ...(o.forceModules === true ? { moduleDetection: 'force' } : {}),
  };
  const path = join(dir, `tsconfig.${name}.json`);
  writeFileSync(path, `${JSON.stringify({ compilerOptions, files: o.files }, null, 2)}\n`);
  return path;
}

export interface Diagnostic {
  /** As TypeScript prints it, relative to the config's directory. */
  file: string;
  line: number;
  code: string;
  /** The message, with its continuation lines. */
  message: string;
}

export interface TscRun {
  status: number | null;
  diagnostics: Diagnostic[];
  output: string;
}

/** Run the project's own TypeScript on `config` from the config's directory. */
export function tsc(project: string, config: string, extra: string[] = []): TscRun {
  const bin = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  const dir = join(config, '..');
  const r = spawnSync(process.execPath, [bin, '-p', config, '--pretty', 'false', ...extra], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const output = `${r.stdout}${r.stderr}${r.error ?? ''}`;
  const diagnostics: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (m !== null) {
      const [, file = '', at = '0', code = '', message = ''] = m;
      diagnostics.push({ file, line: Number(at), code, message });
    } else if (/^\s+\S/.test(line) && diagnostics.length > 0) {
      const last = diagnostics[diagnostics.length - 1];
      if (last !== undefined) last.message += `\n${line}`;
    }
  }
  return { status: r.status, diagnostics, output };
}

/** `tsc`'s diagnostics as one line each, for an assertion message. */
export function formatDiagnostics(run: TscRun): string {
  if (run.diagnostics.length === 0 && run.status !== 0) return run.output;
  return run.diagnostics.map((d) => `${d.file}:${d.line} ${d.code} ${d.message}`).join('\n');
}

/** Copy the consumer sources of test/fixtures/consumer into `dir` (an ES module package). */
export function copyConsumerFixtures(dir: string): string[] {
  const from = join(repoRoot, 'test', 'fixtures', 'consumer');
  cpSync(from, dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  return readdirSync(from).filter((f) => f.endsWith('.ts'));
}

/**
 * `@types/<name>` from the npm cache unpacked into `<dir>/node_modules/@types/<name>`, without
 * installing its dependencies (the consumer's `@types/node` one level up serves), so the
 * project beside it stays without it.
 */
export function unpackTypes(npm: string, name: string, dir: string, env: NodeJS.ProcessEnv): void {
  const target = join(dir, 'node_modules', '@types', name);
  mkdirSync(target, { recursive: true });
  const out = execFileSync(
    process.execPath,
    [
      npm,
      'pack',
      pinned(`@types/${name}`),
      '--prefer-offline',
      '--json',
      '--pack-destination',
      dir,
    ],
    { cwd: dir, env, encoding: 'utf8', timeout: 120_000 },
  );
  const [info] = JSON.parse(out) as [{ filename: string }];
  execFileSync('tar', ['xzf', join(dir, info.filename), '-C', target, '--strip-components=1']);
}
