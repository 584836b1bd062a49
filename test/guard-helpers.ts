/** Memory guards for tests: they sample only when asked and act on nothing outside the test. */
import { MemoryGuard, type MemoryGuardOptions } from '../src/memory/index.js';

/**
 * The soft actions that reach beyond a test, off: `malloc_trim` of the whole process, page-cache
 * drops of the files the process-wide registry tracks, and `memory.reclaim` writes (with a
 * scripted reader that file is a fixture). No cooldown: every sample above soft relieves.
 */
export const quietActions = {
  cooldownMs: 0,
  reclaim: false,
  mallocTrim: false,
  dropCache: false,
} as const satisfies MemoryGuardOptions;

/**
 * A deterministic guard: `intervalMs: 0` samples only when `sample()` is called (no timer, no
 * wake-up thread), with {@link quietActions}; `options` override either.
 */
export function manualGuard(options: MemoryGuardOptions = {}): MemoryGuard {
  return new MemoryGuard({ intervalMs: 0, ...quietActions, ...options });
}
