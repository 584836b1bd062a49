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
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseCgroupSupport, removeAllCgroupsSync } from '../lab/cgroup.js';
import { Progress } from '../lab/progress.js';
import { createOwnedDir } from '../src/fs/owned-temp.js';
import { parseSoakArgs, USAGE } from './options.js';
import { formatReport, writeResults } from './report.js';
import { active, runSoak } from './run.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

// Ctrl-C and friends: kill the service, remove the cgroup and the temp files, exit as a shell
// would report the signal. Synchronous: nothing asynchronous is sure to run once we exit.
function installCleanup(workDir: string, progress: Progress): void {
  const cleanup = (): void => {
    active.supervisor?.kill();
    const left = removeAllCgroupsSync();
    rmSync(workDir, { recursive: true, force: true });
    if (left.length > 0) process.stderr.write(`could not remove cgroups: ${left.join(', ')}\n`);
  };
  for (const sig of CLEANUP_SIGNALS) {
    process.once(sig, () => {
      progress.end();
      try {
        process.stderr.write(`\n${sig}: stopping, removing the soak's cgroup\n`);
      } catch {}
      cleanup();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
  process.once('exit', () => {
    if (active.supervisor !== null) cleanup();
    else removeAllCgroupsSync();
  });
}

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
  installCleanup(workDir, progress);
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
