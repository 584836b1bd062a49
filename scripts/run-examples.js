// Runs every compiled example (dist/examples/**/*.js, entry files only) and fails if one fails.
// Examples import 'slabio' itself, resolved through the package's own exports map.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'examples');
const examples = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')) : [];
let failed = 0;
for (const file of examples) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(dir, file)], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const ok = result.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} example ${file} (${Date.now() - started} ms)`);
  if (!ok) console.log(result.stdout, result.stderr, result.error ?? '');
}
console.log(`examples: ${examples.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
