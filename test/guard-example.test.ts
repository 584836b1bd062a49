import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SERVICE = fileURLToPath(new URL('../examples/kubernetes/service.js', import.meta.url));

it('examples/kubernetes/service runs its self-test: ready, work (also concurrently), thumbnail, metrics, drain, exit 0', async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    execFile(
      process.execPath,
      [SERVICE, '--self-test'],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /\/ready 200, \/work wrote and read 262144 bytes, working set \d+ bytes/);
  assert.match(stdout, /128 of 4 × 32 concurrent \/work requests answered 200/);
  assert.match(stdout, /\/thumbnail 200 image\/webp, non-image 415, pool in use 0 B/);
  assert.match(stdout, /draining: SIGTERM/);
});
