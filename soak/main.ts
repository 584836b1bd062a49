/**
 * The soak (`npm run soak`): examples/kubernetes/service.ts in a memory cgroup under a supervisor
 * that restarts it, a mix of hostile and ordinary clients over loopback for a minute (`--quick`:
 * 20 s), drains at set times, and the figures an operator would look at. Exits non-zero when a
 * must-hold figure is violated (requests unanswered past their deadline, leases in use at the
 * end, requests dropped at a drain, descriptor growth, a planned drain that did not happen).
 * See soak/README.md.
 *
 * @module
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseCgroupSupport } from '../lab/cgroup.js';
import { installCleanup } from '../lab/cleanup.js';
import { Progress } from '../lab/progress.js';
import { createOwnedDir } from '../src/fs/owned-temp.js';
import { parseSoakArgs, USAGE } from './options.js';
import { formatReport, writeResults } from './report.js';
import { active, runSoak } from './run.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

async function main(): Promise<number> {
  const o = parseSoakArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const outDir = path.resolve(o.out ?? path.join(REPO, 'soak-results'));
  const progress = new Progress();
  progress.begin('soak', 0, null);
  const say = (s: string) => progress.note(s);
  const started = performance.now();
  // Named after its owner like the lab's: one left by a soak killed with SIGKILL (no cleanup
  // runs) is swept by a later slabio write there, or by `slabio sweep` on os.tmpdir().
  const work = await createOwnedDir(os.tmpdir(), 'slabio-soak', 'work');
  const workDir = work.path;
  installCleanup(workDir, progress, {
    what: "the soak's cgroup",
    kill: () => active.supervisor?.kill(),
    busy: () => active.supervisor !== null,
  });
  try {
    const res = await runSoak(o, workDir, progress, say);
    const printed = formatReport(res, outDir);
    await writeResults(res, outDir, printed);
    process.stdout.write(printed);
    say(`soak took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return res.passed ? 0 : 1;
  } finally {
    await active.cgroup?.remove();
    active.cgroup = null;
    await rm(workDir, { recursive: true, force: true });
    await work.release();
    for (const left of releaseCgroupSupport()) say(`note: could not undo ${left}`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    active.supervisor?.kill();
    process.stderr.write(`soak failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof RangeError ? 2 : 1;
  },
);
