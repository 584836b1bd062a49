/**
 * Cleanup on the signals a terminal or a supervisor sends, shared by the lab and the soak.
 *
 * @module
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import { removeAllCgroupsSync } from './cgroup.js';
import type { Progress } from './progress.js';

const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** What {@link installCleanup} stops: the run's children, and whether any is still running. */
export interface CleanupTarget {
  /** Named in the message printed on a signal, e.g. "the lab's cgroups". */
  readonly what: string;
  /** Kill every child still running (synchronously). */
  kill(): void;
  /** Whether a child may still be running. */
  busy(): boolean;
}

/**
 * Ctrl-C / SIGTERM / SIGHUP (terminal closed, ssh dropped) / SIGQUIT (Ctrl-\): kill the children,
 * remove the cgroups and `workDir`, then exit with 128 + the signal number as a shell would
 * report it. Synchronous, because nothing asynchronous is guaranteed to run once we decide to
 * exit. On a normal exit, cgroups left by a failure are removed too.
 */
export function installCleanup(workDir: string, progress: Progress, target: CleanupTarget): void {
  const cleanup = (): void => {
    target.kill();
    const left = removeAllCgroupsSync();
    rmSync(workDir, { recursive: true, force: true });
    if (left.length > 0) process.stderr.write(`could not remove cgroups: ${left.join(', ')}\n`);
  };
  for (const sig of CLEANUP_SIGNALS) {
    process.once(sig, () => {
      progress.end();
      // After SIGHUP the terminal may be gone; a failed write must not skip the cleanup.
      try {
        process.stderr.write(`\n${sig}: stopping, removing ${target.what}\n`);
      } catch {}
      cleanup();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
  process.once('exit', () => {
    if (target.busy()) cleanup();
    else removeAllCgroupsSync();
  });
}
