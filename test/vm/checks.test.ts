import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';

const inVm = process.env.SLABIO_VM_GUEST === '1';
const skip = inVm ? false : 'runs inside the VM: npm run test:vm';

it('smoke', { skip }, async () => {
  const c = await readFile('/sys/fs/cgroup/cgroup.controllers', 'utf8');
  assert.match(c, /memory/);
});
