/**
 * Shapes shared by the lab's parent (orchestrator, sampler, report) and its job children.
 *
 * @module
 */

/** The two ways the same batch job is written. */
export type Variant = 'naive' | 'slabio';

/** The two variants, in the order they run and are reported. */
export const VARIANTS: readonly Variant[] = ['naive', 'slabio'];

/** What a job child is told to do. Plain JSON: it crosses the process boundary. */
export interface JobSpec {
  /** The zip of images to process. */
  zipPath: string;
  /** Directory the job writes its thumbnails and PDFs into (empty, created by the parent). */
  outDir: string;
  /** Long edge of a thumbnail in pixels. */
  thumbWidth: number;
  /** QR codes per PDF. */
  itemsPerPdf: number;
  /** Items processed at the same time. Both variants use the same value. */
  concurrency: number;
  /**
   * How the naive job opens the upload: `buffer` reads it whole (`fs.readFile` + yauzl
   * `fromBuffer`, as multer's memory storage, adm-zip and JSZip do), `stream` lets yauzl read it
   * from the file (`yauzl.open`). The slabio job ignores it.
   */
  naiveZip: NaiveZip;
}

/** The two ways the naive job opens the zip; see {@link JobSpec.naiveZip}. */
export type NaiveZip = 'buffer' | 'stream';

/** One reading taken by the parent every 100 ms. Bytes unless named otherwise. */
export interface Sample {
  /** Milliseconds since the child was started. */
  t: number;
  /** cadvisor's `container_memory_working_set_bytes` (usage − inactive file); without a cgroup, RSS + cached bytes of the files the run wrote. */
  workingSet: number;
  /** Charged memory of the cgroup, `null` without one. */
  usage: number | null;
  /** RSS of the job process (`VmRSS`). */
  rss: number;
  /** Anonymous memory of the cgroup (v1 `total_rss`), without one the process's `RssAnon`. */
  anon: number;
  /** Page cache on the active LRU, `null` without a cgroup. */
  activeFile: number | null;
  /** Page cache on the inactive LRU, `null` without a cgroup. */
  inactiveFile: number | null;
  /** Times the cgroup hit its limit (v1 `failcnt`, v2 `max` events), `null` without one. */
  failcnt: number | null;
  /** OOM kills in the cgroup so far, `null` without one. */
  oomKills: number | null;
  /** Items finished so far (last progress message). */
  items: number;
  /** GCs in the job process so far. */
  gcCount: number;
  /** Summed GC pause in the job process so far, ms. */
  gcPauseMs: number;
}

/** The result of one variant's run, as `results.json` stores it. */
export interface RunResult {
  variant: Variant;
  /** The job finished and reported its result. */
  completed: boolean;
  /** The kernel's OOM killer killed the job. */
  oomKilled: boolean;
  /** Why the run did not complete (`null` when it did). */
  failure: string | null;
  /** Wall time of the job itself (after imports, before the settle pause), ms. */
  durationMs: number;
  /** Items finished. */
  items: number;
  /** Items per second over `durationMs`. */
  itemsPerSec: number;
  /** Working set right before the job started (median of the samples taken then). */
  baselineWorkingSetBytes: number;
  /** Highest working set sampled. */
  peakWorkingSetBytes: number;
  /** Working set at the end of the settle pause after the job, while the process is still alive. */
  finalWorkingSetBytes: number;
  /** Highest RSS of the job process (`maxRSS` it reported, else the highest sample). */
  peakRssBytes: number;
  /** Page cache (active + inactive file) charged to the run at the end. */
  pageCacheLeftBytes: number;
  /** GCs in the job process (PerformanceObserver 'gc'). */
  gcCount: number;
  /** Summed GC pause in the job process, ms. */
  gcPauseMs: number;
  /** Highest failcnt seen (times the limit was hit), `null` without a cgroup. */
  failcnt: number | null;
  /** The cgroup the run was placed in, `null` when unconstrained; removed when the run ends. */
  /** The job's event-loop delay p99 while it ran (null if it did not finish), ms. */
  loopDelayP99Ms: number | null;
  /** Its longest event-loop delay, ms. */
  loopDelayMaxMs: number | null;
  cgroupDir: string | null;
  samples: Sample[];
}

/** Messages a job child sends to the parent over IPC. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; items: number; gcCount: number; gcPauseMs: number }
  | {
      type: 'done';
      items: number;
      durationMs: number;
      gcCount: number;
      gcPauseMs: number;
      maxRssBytes: number;
      /** The job's event-loop delay, p99 and max, ms. */
      loopDelayP99Ms: number;
      loopDelayMaxMs: number;
    }
  | { type: 'error'; message: string };

/** Messages the parent sends to a job child. */
export type ParentMessage = { type: 'start' } | { type: 'exit' };

/** Bytes in a mebibyte. */
export const MiB = 1024 * 1024;
