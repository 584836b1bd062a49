/**
 * `slabio inspect [dir]`: where the container's working set goes, the allocator, page-cache
 * control, the files holding the most cache, and advice.
 *
 * @module
 */
import { CgroupError } from '../errors.js';
import {
  type CgroupMemory,
  type ReadCgroupMemoryOptions,
  readCgroupMemory,
} from '../memory/index.js';
import { type Capabilities, capabilities } from '../native/index.js';
import { advise } from './advice.js';
import { type AllocatorReport, allocatorReport } from './allocator.js';
import { bytes, fsErrorText, percent, row } from './format.js';
import { type ResidencyScan, scanResidency } from './residency-scan.js';

/** Why the memory figures are missing from a report. */
export interface InspectMemoryError {
  /** `ERR_SLABIO_CGROUP`. */
  code: string;
  /** The file that could not be read or parsed. */
  file: string;
  message: string;
}

/** Everything `slabio inspect --json` prints. */
export interface InspectReport {
  /** The cgroup figures; `null` when they cannot be read, with the reason in `memoryError`. */
  memory: CgroupMemory | null;
  memoryError: InspectMemoryError | null;
  process: { pid: number; rss: number; heapUsed: number; external: number; arrayBuffers: number };
  allocator: AllocatorReport;
  /** Page-cache control on `dir` (or the temp dir); `null` with the probe's error in `capabilitiesError`. */
  capabilities: Capabilities | null;
  capabilitiesError: string | null;
  /** The files scan of `dir`; `null` without a `dir`, or when it cannot be read (see `dirError`). */
  files: ResidencyScan | null;
  /** Why `dir` could not be read (`code` is Node's, e.g. `ENOENT`); `null` when it could. */
  dirError: { dir: string; code: string; message: string } | null;
  advice: string[];
}

/** Options of {@link inspect}. */
export interface InspectOptions {
  /** Directory to probe and scan for cached files. */
  dir?: string;
  /** How many files to list. @default 10 */
  top?: number;
  /** Passed to `readCgroupMemory`. */
  reader?: ReadCgroupMemoryOptions;
  signal?: AbortSignal;
}

// An unreadable cgroup is what the report must explain, so it is part of the report.
async function readMemory(
  reader: ReadCgroupMemoryOptions,
): Promise<[CgroupMemory | null, InspectMemoryError | null]> {
  try {
    return [await readCgroupMemory(reader), null];
  } catch (err) {
    if (!(err instanceof CgroupError)) throw err;
    return [null, { code: err.code, file: err.file, message: err.message }];
  }
}

/**
 * Gather the inspection report. A cgroup that cannot be read or parsed is reported in
 * `memoryError` (with `memory: null`), not thrown: the rest of the report still helps.
 *
 * A `dir` that cannot be read is reported in `dirError` too (with `files: null`).
 *
 * @throws `signal.reason` on abort.
 */
export async function inspect(options: InspectOptions = {}): Promise<InspectReport> {
  const reader = { ...options.reader, ...(options.signal ? { signal: options.signal } : {}) };
  const [[memory, memoryError], allocator] = await Promise.all([
    readMemory(reader),
    allocatorReport(),
  ]);
  let files: ResidencyScan | null = null;
  let dirError: InspectReport['dirError'] = null;
  if (options.dir !== undefined) {
    try {
      files = await scanResidency(options.dir, {
        top: options.top ?? 10,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      options.signal?.throwIfAborted();
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code !== 'string') throw err;
      dirError = { dir: options.dir, code, message: fsErrorText(err as Error, false) };
    }
  }
  let caps: Capabilities | null = null;
  let capabilitiesError: string | null = null;
  try {
    // An unreadable dir is reported once; the probe then says what the temp dir's filesystem can do.
    caps = await capabilities(dirError === null ? options.dir : undefined);
  } catch (err) {
    capabilitiesError = fsErrorText(err as Error);
  }
  const mu = process.memoryUsage();
  return {
    memory,
    memoryError,
    process: {
      pid: process.pid,
      rss: mu.rss,
      heapUsed: mu.heapUsed,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
    },
    allocator,
    capabilities: caps,
    capabilitiesError,
    files,
    dirError,
    advice: advise(memory, allocator, caps, memoryError?.message),
  };
}

function unreadableSection(e: InspectMemoryError): string[] {
  return [
    'memory (as Kubernetes sees it)',
    row('cgroup', 'UNREADABLE'),
    row('error', `${e.code}: ${e.message}`),
    row('memory guard', 'blind here: no samples, no soft or hard actions, ready() unchanged'),
  ];
}

// memory.high is only a cgroup v2 file; on v1 and host figures the rows would say nothing.
function highRows(m: CgroupMemory): string[] {
  if (m.version !== 2) return [];
  const out = [
    row(
      'memory.high',
      m.high === null ? 'none (max)' : `${bytes(m.high)}  the kernel throttles above it`,
    ),
  ];
  if (m.ceiling !== null) {
    const which =
      m.high !== null && m.high < (m.limit ?? Number.POSITIVE_INFINITY) ? 'memory.high' : 'limit';
    out.push(
      row(
        'ceiling',
        `${bytes(m.ceiling)}  (= ${which}; working set at ${percent(m.workingSet, m.ceiling)}, guard fractions apply here)`,
      ),
    );
  }
  if (m.highEvents !== null)
    out.push(row('throttled', `${m.highEvents} times over memory.high (memory.events high)`));
  return out;
}

function memorySection(m: CgroupMemory): string[] {
  const where =
    m.version === null ? `none: host figures (${m.source})` : `v${m.version} ${m.path} (${m.dir})`;
  const lines = [
    'memory (as Kubernetes sees it)',
    row('cgroup', where),
    row('limit', m.limit === null ? `none (host ${bytes(m.hostMemory)})` : bytes(m.limit)),
    ...highRows(m),
    row('usage', `${bytes(m.usage)}  (${percent(m.usage, m.limit)})`),
    row(
      'working set',
      `${bytes(m.workingSet)}  (${percent(m.workingSet, m.limit)})  = usage − inactive_file`,
    ),
    row('  anon', bytes(m.anon)),
    row('  active file', `${bytes(m.activeFile)}  counted`),
    row('  inactive file', `${bytes(m.inactiveFile)}  not counted`),
    row('  shmem', bytes(m.shmem)),
    row('  dirty/writeback', `${bytes(m.dirty)} / ${bytes(m.writeback)}`),
    row('headroom', m.headroom === null ? 'n/a (no limit)' : bytes(m.headroom)),
  ];
  if (m.events !== null) {
    const e = m.events;
    const parts = [
      ['oom', e.oom],
      ['oom_kill', e.oomKill],
      ['high', e.high],
      ['max', e.max],
    ]
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${v}`);
    lines.push(row('events', parts.join(', ')));
  }
  if (m.pressure !== null) {
    const p = m.pressure;
    lines.push(
      row(
        'pressure',
        `some ${p.some.avg10.toFixed(2)}/${p.some.avg60.toFixed(2)}/${p.some.avg300.toFixed(2)}%` +
          (p.full
            ? `, full ${p.full.avg10.toFixed(2)}/${p.full.avg60.toFixed(2)}/${p.full.avg300.toFixed(2)}%`
            : '') +
          ` (avg10/60/300, ${p.scope})`,
      ),
    );
  }
  return lines;
}

function allocatorSection(r: InspectReport): string[] {
  const a = r.allocator;
  const lines = [
    'allocator',
    row('libc', a.libc === 'glibc' ? `glibc ${a.glibcVersion}` : a.libc),
    row('MALLOC_ARENA_MAX', a.mallocArenaMax ?? 'unset'),
    row('preloaded', a.preloaded ?? 'none'),
  ];
  if (a.malloc !== null) {
    lines.push(
      row(
        'malloc',
        `arenas ${bytes(a.malloc.arenaBytes)}, in use ${bytes(a.malloc.inUseBytes)}, free but held ${bytes(a.malloc.freeBytes)}, mmap ${bytes(a.malloc.mmapBytes)}`,
      ),
    );
  } else {
    lines.push(row('malloc', 'no statistics (needs the native addon and glibc)'));
  }
  lines.push(
    row(
      'this process',
      `rss ${bytes(r.process.rss)}, heap ${bytes(r.process.heapUsed)}, external ${bytes(r.process.external)}`,
    ),
  );
  return lines;
}

function originText(o: Capabilities['addon']): string {
  const what = o.source === 'prebuild' ? 'prebuilt binary' : 'built on this machine';
  return o.path === null ? what : `${what}, ${o.path}`;
}

function capabilitySection(r: InspectReport): string[] {
  const c = r.capabilities;
  if (c === null)
    return ['page-cache control', row('probe failed', r.capabilitiesError ?? 'unknown')];
  const yn = (x: { available: boolean; reason?: string }) =>
    x.available ? 'yes' : `no: ${x.reason ?? ''}`;
  return [
    `page-cache control (${c.filesystem.dir}, ${c.filesystem.type}${c.memoryBacked ? ', in memory' : ''})`,
    row('native addon', c.native.available ? `yes (${originText(c.addon)})` : yn(c.native)),
    row('malloc_trim', yn(c.mallocTrim)),
    row('fadvise', yn(c.fadvise)),
    row('sync_file_range', yn(c.syncFileRange)),
    row('RWF_DONTCACHE', yn(c.dontcache)),
    row('cachestat', yn(c.cachestat)),
  ];
}

function filesSection(f: ResidencyScan): string[] {
  const head = `files holding page cache in ${f.dir} (${f.scanned} scanned${f.truncated ? ', stopped early' : ''}${f.failed ? `, ${f.failed} unreadable` : ''}): ${bytes(f.cachedBytes)} cached`;
  if (f.unavailable !== null) return [head, row('unavailable', f.unavailable)];
  if (f.top.length === 0) return [head, '  none of them is cached'];
  return [
    head,
    ...f.top.map(
      (x) =>
        `  ${bytes(x.cachedBytes).padStart(10)} of ${bytes(x.bytes).padStart(10)}  ${x.path}${x.exact ? '' : ' (upper bound)'}`,
    ),
  ];
}

/** Render the report for a terminal. */
export function formatInspect(r: InspectReport): string {
  const memory =
    r.memory !== null
      ? memorySection(r.memory)
      : unreadableSection(
          r.memoryError ?? { code: 'unknown', file: 'unknown', message: 'not read' },
        );
  const sections = [memory, allocatorSection(r), capabilitySection(r)];
  if (r.files !== null) sections.push(filesSection(r.files));
  if (r.dirError !== null) {
    sections.push([
      `files holding page cache in ${r.dirError.dir}`,
      row('unreadable', r.dirError.message),
    ]);
  }
  sections.push(['advice', ...r.advice.map((a) => `  - ${a}`)]);
  return `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}
