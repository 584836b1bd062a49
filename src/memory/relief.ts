/**
 * The memory guard's soft actions: give back what the process holds without needing it.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { debug, warnOnce } from '../debug.js';
import type { CgroupMemory } from './cgroup.js';
import { isMissing } from './cgroup-locate.js';
import type { GuardSample, GuardStats, TrimmablePool } from './guard-types.js';
import type { PageCacheRegistry } from './page-cache-registry.js';

/** What one round of soft actions did. */
export interface ReliefReport {
  /** The sample that triggered the round. */
  before: GuardSample;
  /** A fresh read right after the actions. */
  after: CgroupMemory;
  /** Bytes the pools' `trim()` freed. */
  trimmedBytes: number;
  /** Whether `malloc_trim` released memory (`null`: not available / disabled). */
  mallocTrimmed: boolean | null;
  /** Files whose page cache was dropped. */
  droppedFiles: number;
  /** Files that could not be dropped (other than vanished ones). */
  dropErrors: number;
  /** Bytes asked of `memory.reclaim`, `0` when it was not written. */
  reclaimRequested: number;
  /** Errors the actions met; they never stop the other actions. */
  errors: unknown[];
}

/** @internal What the guard hands to {@link relieve}. */
export interface ReliefTools {
  pools: TrimmablePool[];
  registry: PageCacheRegistry;
  dropCache: ((file: string) => Promise<unknown>) | null;
  mallocTrim: (() => boolean) | null;
  reclaim: boolean;
  stats: Pick<
    GuardStats,
    | 'softEvents'
    | 'hardEvents'
    | 'recoveries'
    | 'trimmedBytes'
    | 'mallocTrims'
    | 'pageCacheDrops'
    | 'pageCacheDropErrors'
    | 'reclaimWrites'
    | 'reclaimUnavailable'
  >;
}

/** The counters of {@link ReliefTools.stats}, all at zero. */
export function reliefCounters(): ReliefTools['stats'] {
  return {
    softEvents: 0,
    hardEvents: 0,
    recoveries: 0,
    trimmedBytes: 0,
    mallocTrims: 0,
    pageCacheDrops: 0,
    pageCacheDropErrors: 0,
    reclaimWrites: 0,
    reclaimUnavailable: null,
  };
}

// Errnos meaning "this container may not write memory.reclaim": read-only /sys (the default in
// Docker/Kubernetes), no permission, or a kernel before 5.19 without the file.
const RECLAIM_OFF = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOENT', 'EINVAL']);

async function dropAll(tools: ReliefTools, report: ReliefReport): Promise<void> {
  const drop = tools.dropCache;
  if (drop === null) return;
  for (const file of tools.registry.paths()) {
    try {
      await drop(file);
      report.droppedFiles++;
    } catch (err) {
      if (isMissing(err)) {
        tools.registry.untrack(file);
        continue;
      }
      report.errors.push(err);
      if ((err as { code?: unknown }).code === 'ERR_SLABIO_UNSUPPORTED') {
        // No native addon here: stop trying per file, the error says why once.
        tools.dropCache = null;
        return;
      }
      report.dropErrors++;
      debug('memory guard: dropping the cache of %s failed: %s', file, (err as Error).message);
    }
  }
}

async function reclaim(
  sample: GuardSample,
  tools: ReliefTools,
  report: ReliefReport,
): Promise<void> {
  const { memory } = sample;
  if (!tools.reclaim || tools.stats.reclaimUnavailable !== null) return;
  if (memory.version !== 2 || memory.dir === null) {
    if (memory.version === 1) tools.stats.reclaimUnavailable = 'cgroup v1';
    return;
  }
  const target = sample.softBytes - sample.hysteresisBytes;
  // Round up to whole 4 KiB pages; the kernel reclaims in pages anyway.
  const bytes = Math.ceil(Math.max(0, memory.workingSet - target) / 4096) * 4096;
  if (bytes === 0) return;
  try {
    await writeFile(path.join(memory.dir, 'memory.reclaim'), String(bytes));
    report.reclaimRequested = bytes;
    tools.stats.reclaimWrites++;
  } catch (err) {
    const code = String((err as { code?: unknown }).code);
    if (code === 'EAGAIN') {
      // The kernel reclaimed less than asked: still useful, not an error (cgroup-v2.rst).
      report.reclaimRequested = bytes;
      tools.stats.reclaimWrites++;
    } else if (RECLAIM_OFF.has(code)) {
      tools.stats.reclaimUnavailable = code;
      warnOnce(
        'SLABIO_RECLAIM_UNAVAILABLE',
        `slabio memory guard: cannot write ${path.join(memory.dir, 'memory.reclaim')} (${code}); proactive reclaim is off, the other soft actions still run.`,
      );
    } else {
      report.errors.push(err);
    }
  }
}

/** @internal Run the soft actions once; never throws for an action's failure. */
export async function relieve(
  sample: GuardSample,
  tools: ReliefTools,
  read: () => Promise<CgroupMemory>,
): Promise<ReliefReport> {
  const report: ReliefReport = {
    before: sample,
    after: sample.memory,
    trimmedBytes: 0,
    mallocTrimmed: null,
    droppedFiles: 0,
    dropErrors: 0,
    reclaimRequested: 0,
    errors: [],
  };
  for (const pool of tools.pools) {
    try {
      report.trimmedBytes += pool.trim();
    } catch (err) {
      report.errors.push(err);
    }
  }
  if (tools.mallocTrim !== null) {
    report.mallocTrimmed = tools.mallocTrim();
    if (report.mallocTrimmed) tools.stats.mallocTrims++;
  }
  await dropAll(tools, report);
  await reclaim(sample, tools, report);
  tools.stats.trimmedBytes += report.trimmedBytes;
  tools.stats.pageCacheDrops += report.droppedFiles;
  tools.stats.pageCacheDropErrors += report.dropErrors;
  try {
    report.after = await read();
  } catch (err) {
    report.errors.push(err);
  }
  debug(
    'memory guard: soft actions freed pools=%d dropped=%d files reclaim=%d; working set %d -> %d',
    report.trimmedBytes,
    report.droppedFiles,
    report.reclaimRequested,
    sample.memory.workingSet,
    report.after.workingSet,
  );
  return report;
}
