/**
 * `slabio watch`: a refreshing view of the working set with a sparkline, until Ctrl-C.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CgroupMemory,
  type ReadCgroupMemoryOptions,
  readCgroupMemory,
} from '../memory/index.js';
import { bytes, percent, sparkline, sparklineScale } from './format.js';

/** Options of {@link watch}. */
export interface WatchOptions {
  /** Refresh interval in ms. @default 1000 */
  intervalMs?: number;
  /** Stop after this many frames. @default Infinity */
  count?: number;
  /** Samples kept for the sparkline. @default 60 */
  history?: number;
  /** Where frames go. @default process.stdout */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Passed to `readCgroupMemory`. */
  reader?: ReadCgroupMemoryOptions;
  /** Stops the loop (Ctrl-C); resolves instead of rejecting. */
  signal?: AbortSignal;
}

// The range the bars span, so a reader can tell a flat line from a small wiggle.
function scaleText(history: readonly number[], limit: number | null): string {
  if (limit !== null) return `(0 to the limit)`;
  const { lo, hi } = sparklineScale(history);
  return `(${bytes(lo)} to ${bytes(hi)})`;
}

/** One frame of text for a snapshot and the working-set history. */
export function frame(m: CgroupMemory, history: readonly number[], intervalMs: number): string {
  const when = new Date(m.timestamp).toISOString().slice(11, 19);
  const where = m.version === null ? `host (${m.source})` : `cgroup v${m.version} ${m.path}`;
  const lines = [
    `slabio watch: ${where}, every ${intervalMs} ms, Ctrl-C to stop   ${when}`,
    `working set ${bytes(m.workingSet)} of ${m.limit === null ? 'no limit' : bytes(m.limit)} (${percent(m.workingSet, m.limit)})`,
    `  ${sparkline(history, m.limit ?? undefined)}  ${scaleText(history, m.limit)}`,
    `usage ${bytes(m.usage)}  anon ${bytes(m.anon)}  active file ${bytes(m.activeFile)}  inactive file ${bytes(m.inactiveFile)}  shmem ${bytes(m.shmem)}  dirty ${bytes(m.dirty)}`,
  ];
  const extra: string[] = [];
  if (m.headroom !== null) extra.push(`headroom ${bytes(m.headroom)}`);
  if (m.pressure !== null)
    extra.push(`pressure some ${m.pressure.some.avg10.toFixed(2)}% (${m.pressure.scope})`);
  if (m.high !== null) extra.push(`memory.high ${bytes(m.high)}`);
  if (m.highEvents !== null && (m.high !== null || m.highEvents > 0))
    extra.push(`throttled ${m.highEvents}`);
  if (m.events?.oomKill != null) extra.push(`oom_kill ${m.events.oomKill}`);
  if (extra.length > 0) lines.push(extra.join('  '));
  return `${lines.join('\n')}\n`;
}

/**
 * Print a frame every `intervalMs` until `count` frames or the signal.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` when the cgroup files cannot be read.
 * @throws {RangeError} for a bad `intervalMs`/`count`/`history`.
 */
export async function watch(options: WatchOptions = {}): Promise<number> {
  const intervalMs = options.intervalMs ?? 1000;
  const count = options.count ?? Number.POSITIVE_INFINITY;
  const keep = options.history ?? 60;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`interval must be a positive number of ms, got ${intervalMs}`);
  }
  if (!(count >= 1)) throw new RangeError(`count must be at least 1, got ${count}`);
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`history must be a positive integer, got ${keep}`);
  const out = options.out ?? process.stdout;
  const { signal } = options;
  const history: number[] = [];
  let frames = 0;
  while (frames < count && signal?.aborted !== true) {
    const m = await readCgroupMemory(options.reader);
    history.push(m.workingSet);
    if (history.length > keep) history.shift();
    // On a terminal redraw in place; into a pipe append frames, so logs stay readable.
    out.write(
      (out.isTTY ? '\x1b[H\x1b[2J' : frames > 0 ? '\n' : '') + frame(m, history, intervalMs),
    );
    frames++;
    if (frames < count)
      await sleep(intervalMs, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
  return frames;
}
