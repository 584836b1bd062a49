// What package.test.ts checks in the consumer project (the packed slabio with its peers and
// TypeScript): the types of every entry point, one call of each, and the documentation's blocks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  copyConsumerFixtures,
  formatDiagnostics,
  RESOLUTIONS,
  tsc,
  unpackTypes,
  writeTsconfig,
} from './consumer-helpers.js';
import { type BlockResult, failureReport, runBlocks } from './doc-block-run.js';
import { census, docBlocks, docFiles } from './doc-blocks.js';

/** The entry points and the fixture (test/fixtures/consumer) that calls each. */
export const ENTRY_POINTS = {
  slabio: 'root.ts',
  'slabio/linux': 'linux.ts',
  'slabio/zip': 'zip.ts',
  'slabio/sharp': 'sharp.ts',
  'slabio/qrcode': 'qrcode.ts',
  'slabio/pdfkit': 'pdfkit.ts',
  'slabio/prom': 'prom.ts',
} as const;

/** Packages whose types the root entry must never pull in. */
const PEERS =
  /node_modules\/(sharp|pdfkit|qrcode|yauzl|prom-client|@types\/(pdfkit|yauzl|qrcode))\//;

function consumerDir(app: string): string {
  const dir = join(app, 'consumer');
  if (!existsSync(dir)) copyConsumerFixtures(dir);
  return dir;
}

/**
 * Every entry point under strict, skipLibCheck off, nodenext and bundler, with no @types of a
 * peer installed; the root entry reaching no peer's declarations; then with @types/pdfkit beside
 * it: in the program (imported, or listed in `types`) and installed but out of the program.
 */
export function checkConsumerTypes(
  t: TestContext,
  app: string,
  npm: string,
  env: NodeJS.ProcessEnv,
): void {
  const dir = consumerDir(app);
  assert.deepEqual(
    readdirSync(join(app, 'node_modules', '@types')),
    ['node'],
    'only @types/node may be installed',
  );
  const files = Object.values(ENTRY_POINTS);
  for (const resolution of RESOLUTIONS) {
    const run = tsc(app, writeTsconfig(dir, resolution, { resolution, files }));
    assert.equal(run.status, 0, `${resolution}:\n${formatDiagnostics(run)}`);
  }
  const rootOnly = writeTsconfig(dir, 'root-only', {
    resolution: 'nodenext',
    files: [ENTRY_POINTS.slabio, ENTRY_POINTS['slabio/linux']],
  });
  const listed = tsc(app, rootOnly, ['--listFilesOnly']);
  assert.equal(listed.status, 0, listed.output);
  assert.deepEqual(
    listed.output.split('\n').filter((f) => PEERS.test(f)),
    [],
    '`slabio` and `slabio/linux` reach no peer',
  );

  const typed = join(dir, 'pdfkit-types');
  unpackTypes(npm, 'pdfkit', typed, env);
  for (const resolution of RESOLUTIONS) {
    const inProgram = tsc(
      app,
      writeTsconfig(typed, `${resolution}-in`, {
        resolution,
        files: ['pdfkit.ts', 'listed.ts'],
        types: ['node', 'pdfkit'],
      }),
    );
    assert.equal(
      inProgram.status,
      0,
      `@types/pdfkit, ${resolution}:\n${formatDiagnostics(inProgram)}`,
    );
    const outOfProgram = tsc(
      app,
      writeTsconfig(typed, `${resolution}-out`, { resolution, files: ['default-config.ts'] }),
    );
    assert.equal(
      outOfProgram.status,
      0,
      `@types/pdfkit not in the program, ${resolution}:\n${formatDiagnostics(outOfProgram)}`,
    );
  }
  t.diagnostic(`type-checked ${files.length} entry points × ${RESOLUTIONS.length} resolutions`);
}

/** Each entry point's fixture compiled with nodenext and run with plain node. */
export function runEntryPoints(t: TestContext, app: string, env: NodeJS.ProcessEnv): void {
  const dir = consumerDir(app);
  const files = Object.values(ENTRY_POINTS);
  const config = writeTsconfig(dir, 'emit', { resolution: 'nodenext', files, outDir: 'out' });
  const built = tsc(app, config);
  assert.equal(built.status, 0, formatDiagnostics(built));
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    const script = join(dir, 'out', file.replace(/\.ts$/, '.js'));
    const r = spawnSync(process.execPath, [script], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `${entry} (${file}) failed:\n${r.stdout}${r.stderr}${r.error ?? ''}`);
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    assert.ok(line.startsWith(`ok ${entry} `), `${entry}: ${r.stdout}`);
    t.diagnostic(line);
  }
}

/**
 * Every code block of `files` (default: the documentation files) under `root`, run in the
 * consumer project; reports the count of each kind and each failure at its file:line. Results
 * come sorted by file and line (a ts block's nodenext verdict before its bundler one).
 */
export async function runDocBlocks(
  t: TestContext,
  app: string,
  npm: string,
  env: NodeJS.ProcessEnv,
  root: string,
  files = docFiles(root),
): Promise<BlockResult[]> {
  const blocks = docBlocks(root, files);
  // TypeScript that draws with pdfkit has @types/pdfkit, as the pdfkit docs ask: unpacked beside
  // the blocks (not into the consumer, whose own checks run without it) and listed in `types`.
  const docs = join(app, 'docs-env');
  if (!existsSync(docs)) unpackTypes(npm, 'pdfkit', docs, env);
  const name = `run-${readdirSync(docs).filter((f) => f.startsWith('run-')).length}`;
  const results = await runBlocks(app, join(docs, name), blocks, env);
  t.diagnostic(`files: ${files.join(', ')}`);
  t.diagnostic(`blocks: ${JSON.stringify(census(blocks))}`);
  const failed = results.filter((r) => !r.ok);
  t.diagnostic(`checks: ${results.length - failed.length} passed, ${failed.length} failed`);
  // One diagnostic per line: TAP escapes the newlines of a single one.
  for (const line of failureReport(results).split('\n')) if (line !== '') t.diagnostic(line);
  return results.sort(
    (a, b) => a.block.file.localeCompare(b.block.file) || a.block.line - b.block.line,
  );
}
