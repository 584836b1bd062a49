// Running the documentation's code blocks in the consumer project: ```js on plain Node, ```ts
// through the project's TypeScript under nodenext and bundler resolution, ```js server through
// the Quick start probe (doc-server.ts).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESOLUTIONS, tsc, writeTsconfig } from './consumer-helpers.js';
import { type CodeBlock, where } from './doc-blocks.js';
import { probeServer } from './doc-server.js';

/** The verdict on one block (a ts block gets one per resolution). */
export interface BlockResult {
  block: CodeBlock;
  /** `nodenext` / `bundler` for ts blocks. */
  mode?: string;
  ok: boolean;
  /** What failed, at `file:line` of the markdown where known. */
  detail: string;
}

const JS_TIMEOUT_MS = 60_000;

/** Markdown positions instead of the block file's own in a stack trace or message. */
function remap(text: string, file: string, block: CodeBlock): string {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?:file://)?[^\\s(]*${escaped}:(\\d+)(?::\\d+)?`, 'g'), (_, l) =>
    where(block, Number(l)),
  );
}

/** Run `script` with node from `cwd`; resolve with its exit and output, killed at `timeoutMs`. */
function runNode(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}

/** Write a block as `<dir>/<name>` beside the consumer's node_modules, with its own empty cwd. */
function stage(dir: string, name: string, code: string): { file: string; cwd: string } {
  const cwd = join(dir, `run-${name.replace(/\.js$/, '')}`);
  mkdirSync(cwd, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, code);
  return { file, cwd };
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Each ```js block as `<dir>/j<n>.js` (an ES module package beside the consumer's node_modules),
 * run with plain node from its own empty working directory: it must exit 0 within a minute.
 */
export async function runJsBlocks(
  dir: string,
  blocks: CodeBlock[],
  env: NodeJS.ProcessEnv,
): Promise<BlockResult[]> {
  const results: BlockResult[] = [];
  for (const [i, block] of blocks.entries()) {
    const name = `j${i}.js`;
    const { file, cwd } = stage(dir, name, block.code);
    const r = await runNode(file, cwd, env, JS_TIMEOUT_MS);
    const ok = r.code === 0 && !r.timedOut;
    const why = r.timedOut
      ? `did not exit within ${JS_TIMEOUT_MS / 1000} s`
      : `exited with ${r.code ?? r.signal}`;
    results.push({ block, ok, detail: ok ? '' : `${why}\n${remap(tail(r.output), name, block)}` });
  }
  return results;
}

/**
 * All ```ts blocks as `<dir>/t<n>.ts`, type-checked as one program per resolution (every file a
 * module, strict, skipLibCheck off, `types: ['node', 'pdfkit']`: the caller provides
 * @types/pdfkit); each diagnostic is charged to its block at its markdown line.
 */
export function checkTsBlocks(project: string, dir: string, blocks: CodeBlock[]): BlockResult[] {
  mkdirSync(dir, { recursive: true });
  const files = blocks.map((block, i) => {
    writeFileSync(join(dir, `t${i}.ts`), block.code);
    return `t${i}.ts`;
  });
  const results: BlockResult[] = [];
  for (const resolution of RESOLUTIONS) {
    if (blocks.length === 0) break;
    const config = writeTsconfig(dir, resolution, {
      resolution,
      files,
      forceModules: true,
      types: ['node', 'pdfkit'],
    });
    const run = tsc(project, config);
    const byBlock = new Map<number, string[]>();
    const unplaced: string[] = [];
    for (const d of run.diagnostics) {
      const i = /^t(\d+)\.ts$/.exec(d.file)?.[1];
      const block = i === undefined ? undefined : blocks[Number(i)];
      if (block === undefined) {
        unplaced.push(`${d.file}:${d.line} ${d.code} ${d.message}`);
        continue;
      }
      const list = byBlock.get(Number(i)) ?? [];
      list.push(`${where(block, d.line)} ${d.code} ${d.message}`);
      byBlock.set(Number(i), list);
    }
    if (run.status !== 0 && run.diagnostics.length === 0) unplaced.push(tail(run.output));
    for (const [i, block] of blocks.entries()) {
      const errors = [...(byBlock.get(i) ?? []), ...unplaced];
      results.push({ block, mode: resolution, ok: errors.length === 0, detail: errors.join('\n') });
    }
  }
  return results;
}

/** Each ```js server block through the Quick start probe, as `<dir>/s<n>.js`. */
export async function runServerBlocks(
  dir: string,
  blocks: CodeBlock[],
  env: NodeJS.ProcessEnv,
): Promise<BlockResult[]> {
  const results: BlockResult[] = [];
  for (const [i, block] of blocks.entries()) {
    const name = `s${i}.js`;
    const { file, cwd } = stage(dir, name, block.code);
    const failures = await probeServer(file, cwd, env, block.code);
    const detail = failures.map((f) => remap(f, name, block)).join('\n');
    results.push({ block, ok: failures.length === 0, detail });
  }
  return results;
}

/** Every block of `blocks` by its kind, in `dir` of the consumer `project`. */
export async function runBlocks(
  project: string,
  dir: string,
  blocks: CodeBlock[],
  env: NodeJS.ProcessEnv,
): Promise<BlockResult[]> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  const of = (kind: CodeBlock['kind']) => blocks.filter((b) => b.kind === kind);
  return [
    ...(await runJsBlocks(dir, of('js'), env)),
    ...checkTsBlocks(project, dir, of('ts')),
    ...(await runServerBlocks(dir, of('server'), env)),
  ];
}

/** One line per failed block (`README.md:99 ts nodenext: …`), for the assertion message. */
export function failureReport(results: BlockResult[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => {
      const head = `${where(r.block)} ${r.block.kind}${r.mode === undefined ? '' : ` ${r.mode}`}`;
      return `${head}:\n  ${r.detail.split('\n').join('\n  ')}`;
    })
    .join('\n');
}
