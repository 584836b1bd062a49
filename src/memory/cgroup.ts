/**
 * Reads the container's memory figures from its cgroup (v1 or v2) and computes the working set
 * exactly as cadvisor (and so Kubernetes' eviction and `kubectl top`) does.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CgroupError } from '../errors.js';
import { checkNumber, checkObject, checkSignal } from '../validate.js';
import { readV2Bounds } from './cgroup-bounds.js';
import {
  type CgroupLocation,
  isMissing,
  locateMemoryCgroup,
  type ReadTextFile,
} from './cgroup-locate.js';
import {
  type FlatKeyed,
  type Meminfo,
  parseCounterFile,
  parseFlatKeyed,
  parseLimitFile,
  parseMeminfo,
  parsePressure,
} from './cgroup-parse.js';
import type { CgroupMemory, ReadCgroupMemoryOptions } from './cgroup-types.js';

export type { Pressure, PressureLine } from './cgroup-parse.js';
export type { CgroupMemory, MemoryEvents, ReadCgroupMemoryOptions } from './cgroup-types.js';

const defaultRead: ReadTextFile = (file, signal) =>
  readFile(file, signal === undefined ? { encoding: 'utf8' } : { encoding: 'utf8', signal });

interface Reader {
  required(file: string): Promise<string>;
  optional(file: string): Promise<string | null>;
}

function makeReader(read: ReadTextFile, signal: AbortSignal | undefined): Reader {
  const wrap = async (file: string, optional: boolean): Promise<string | null> => {
    try {
      return await read(file, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // EOPNOTSUPP: memory.pressure exists but PSI is disabled (psi=0 on the kernel command line).
      // Node names that number ENOTSUP (one number on Linux).
      const code = (err as { code?: unknown } | null)?.code;
      if (optional && (isMissing(err) || code === 'ENOTSUP' || code === 'EOPNOTSUPP')) return null;
      throw new CgroupError(file, isMissing(err) ? 'missing' : `cannot read (${String(code)})`, {
        cause: err,
      });
    }
  };
  return {
    required: async (file) => (await wrap(file, false)) as string,
    optional: (file) => wrap(file, true),
  };
}

function stat(map: FlatKeyed, keys: string[], file: string, required = false): number {
  const v = map.counter(...keys);
  if (v !== undefined) return v;
  if (required) throw new CgroupError(file, `key "${keys[0]}" not found`);
  return 0;
}

/** The bounds a snapshot is finished with; v1 and host figures have no `high`. */
interface Bounds {
  limit: number | null;
  high: number | null;
  /** Throttle counter of the group that sets `high` when that is an ancestor (see cgroup-bounds). */
  ancestorHighEvents?: number | null | undefined;
}

function finish(
  base: Omit<
    CgroupMemory,
    'workingSet' | 'headroom' | 'timestamp' | 'limit' | 'high' | 'ceiling' | 'highEvents'
  >,
  bounds: Bounds,
): CgroupMemory {
  // A bound at or above host memory cannot bind before the host itself runs out.
  const bound = (v: number | null) => (v !== null && v >= base.hostMemory ? null : v);
  const limit = bound(bounds.limit);
  const high = bound(bounds.high);
  const ceiling = high === null ? limit : limit === null ? high : Math.min(high, limit);
  const own = base.events?.high ?? null;
  const highEvents =
    high !== null && bounds.ancestorHighEvents !== undefined ? bounds.ancestorHighEvents : own;
  const workingSet = Math.max(0, base.usage - base.inactiveFile);
  return {
    ...base,
    limit,
    high,
    ceiling,
    highEvents,
    workingSet,
    headroom: limit === null ? null : Math.max(0, limit - workingSet),
    timestamp: Date.now(),
  };
}

async function readV1(loc: CgroupLocation, r: Reader, hostMemory: number, root: string) {
  const f = (name: string) => path.join(loc.dir, name);
  const [usageText, limitText, statText, oomText, failText, psiText] = await Promise.all([
    r.required(f('memory.usage_in_bytes')),
    r.optional(f('memory.limit_in_bytes')),
    r.required(f('memory.stat')),
    r.optional(f('memory.oom_control')),
    r.optional(f('memory.failcnt')),
    r.optional(path.join(root, 'proc/pressure/memory')),
  ]);
  const statFile = f('memory.stat');
  const s = parseFlatKeyed(statText, statFile);
  // total_* are hierarchical (include child groups), matching usage_in_bytes, which is what
  // cadvisor subtracts from.
  let limit = limitText === null ? null : parseLimitFile(limitText, f('memory.limit_in_bytes'), 1);
  const hier = s.limit('hierarchical_memory_limit') ?? null;
  if (hier !== null && (limit === null || hier < limit)) limit = hier;
  const oom = oomText === null ? null : parseFlatKeyed(oomText, f('memory.oom_control'));
  return finish(
    {
      source: 'cgroup-v1',
      version: 1,
      path: loc.path,
      dir: loc.dir,
      usage: parseCounterFile(usageText, f('memory.usage_in_bytes')),
      hostMemory,
      anon: stat(s, ['total_rss', 'rss'], statFile),
      file: stat(s, ['total_cache', 'cache'], statFile),
      activeFile: stat(s, ['total_active_file', 'active_file'], statFile),
      inactiveFile: stat(s, ['total_inactive_file', 'inactive_file'], statFile, true),
      shmem: stat(s, ['total_shmem', 'shmem'], statFile),
      dirty: stat(s, ['total_dirty', 'dirty'], statFile),
      writeback: stat(s, ['total_writeback', 'writeback'], statFile),
      events:
        oom === null && failText === null
          ? null
          : {
              oom: null,
              oomKill: oom?.counter('oom_kill') ?? null,
              high: null,
              max: failText === null ? null : parseCounterFile(failText, f('memory.failcnt')),
            },
      pressure:
        psiText === null
          ? null
          : parsePressure(psiText, path.join(root, 'proc/pressure/memory'), 'host'),
    },
    // v1's memory.soft_limit_in_bytes is no throttle (see CgroupMemory.high): no high here.
    { limit, high: null },
  );
}

async function readV2(loc: CgroupLocation, r: Reader, hostMemory: number) {
  const f = (name: string) => path.join(loc.dir, name);
  const [usageText, bounds, statText, eventsText, psiText] = await Promise.all([
    r.required(f('memory.current')),
    readV2Bounds(loc, r.optional),
    r.required(f('memory.stat')),
    r.optional(f('memory.events')),
    r.optional(f('memory.pressure')),
  ]);
  const statFile = f('memory.stat');
  const s = parseFlatKeyed(statText, statFile);
  const ev = eventsText === null ? null : parseFlatKeyed(eventsText, f('memory.events'));
  const base = {
    source: 'cgroup-v2' as const,
    version: 2 as const,
    path: loc.path,
    dir: loc.dir,
    usage: parseCounterFile(usageText, f('memory.current')),
    hostMemory,
    anon: stat(s, ['anon'], statFile),
    file: stat(s, ['file'], statFile),
    activeFile: stat(s, ['active_file'], statFile),
    inactiveFile: stat(s, ['inactive_file'], statFile, true),
    shmem: stat(s, ['shmem'], statFile),
    dirty: stat(s, ['file_dirty'], statFile),
    writeback: stat(s, ['file_writeback'], statFile),
    slabReclaimable: stat(s, ['slab_reclaimable'], statFile),
    events:
      ev === null
        ? null
        : {
            oom: ev.counter('oom') ?? null,
            oomKill: ev.counter('oom_kill') ?? null,
            high: ev.counter('high') ?? null,
            max: ev.counter('max') ?? null,
          },
    pressure: psiText === null ? null : parsePressure(psiText, f('memory.pressure'), 'cgroup'),
  };
  return finish(base, bounds);
}

async function readHost(root: string, r: Reader, platform: NodeJS.Platform, hostMemory?: number) {
  const file = path.join(root, 'proc/meminfo');
  const text = platform === 'linux' ? await r.optional(file) : null;
  if (text === null) {
    const total = hostMemory ?? os.totalmem();
    const zero = {
      anon: 0,
      file: 0,
      activeFile: 0,
      inactiveFile: 0,
      shmem: 0,
      dirty: 0,
      writeback: 0,
    };
    return finish(
      {
        source: 'host-os',
        version: null,
        path: null,
        dir: null,
        usage: Math.max(0, total - os.freemem()),
        hostMemory: total,
        ...zero,
        events: null,
        pressure: null,
      },
      { limit: null, high: null },
    );
  }
  const m = parseMeminfo(text, file);
  const total = hostMemory ?? memTotal(m, file) ?? os.totalmem();
  const psiFile = path.join(root, 'proc/pressure/memory');
  const psi = await r.optional(psiFile);
  return finish(
    {
      source: 'host-meminfo',
      version: null,
      path: null,
      dir: null,
      usage: Math.max(0, total - (m.bytes('MemFree') ?? 0)),
      hostMemory: total,
      anon: m.bytes('AnonPages') ?? 0,
      file: m.bytes('Cached') ?? 0,
      activeFile: m.bytes('Active(file)') ?? 0,
      inactiveFile: m.bytes('Inactive(file)') ?? 0,
      shmem: m.bytes('Shmem') ?? 0,
      dirty: m.bytes('Dirty') ?? 0,
      writeback: m.bytes('Writeback') ?? 0,
      slabReclaimable: m.bytes('SReclaimable') ?? 0,
      events: null,
      pressure: psi === null ? null : parsePressure(psi, psiFile, 'host'),
    },
    { limit: null, high: null },
  );
}

async function hostTotal(root: string, r: Reader): Promise<number> {
  const file = path.join(root, 'proc/meminfo');
  const text = await r.optional(file);
  return (text === null ? undefined : memTotal(parseMeminfo(text, file), file)) ?? os.totalmem();
}

// Every limit is compared with MemTotal: a zero there would make every limit "no limit".
function memTotal(m: Meminfo, file: string): number | undefined {
  const total = m.bytes('MemTotal');
  if (total === 0) throw new CgroupError(file, 'MemTotal is 0');
  return total;
}

async function locateDir(dir: string, r: Reader): Promise<CgroupLocation> {
  const v2 = await r.optional(path.join(dir, 'memory.current'));
  if (v2 !== null) return { version: 2, path: dir, dir, mountDir: dir };
  await r.required(path.join(dir, 'memory.usage_in_bytes'));
  return { version: 1, path: dir, dir, mountDir: dir };
}

/**
 * Read the memory cgroup of this process (or of `cgroupDir`) and compute the working set as
 * cadvisor does: `max(0, usage − inactive_file)` (v1: `total_inactive_file`).
 *
 * Outside a cgroup with a memory controller, or off Linux, the figures describe the host and
 * `source` says so (`host-meminfo`, `host-os`).
 *
 * Every number read is checked against the kernel's format: an unsigned decimal with at most a
 * trailing newline (`max` also in v2 limit files), counters at most 2^53 − 1 so the arithmetic
 * is exact, PSI averages percentages from 0 to 100. Anything else (signs, hex, floats, padding,
 * overflow, 2^64 − 1 in a usage file) is refused rather than read as a number.
 *
 * @throws {CgroupError} `ERR_SLABIO_CGROUP` naming the file when a required file
 * (`memory.current` / `memory.usage_in_bytes`, `memory.stat`) is missing or unreadable, or a file
 * read is malformed (the message quotes the bad text and names the key).
 * @throws {unknown} `signal.reason` when aborted.
 * @example
 * ```ts
 * const m = await readCgroupMemory();
 * console.log(`working set ${m.workingSet} of ${m.limit ?? 'unlimited'}`);
 * ```
 */
export async function readCgroupMemory(
  options: ReadCgroupMemoryOptions = {},
): Promise<CgroupMemory> {
  checkObject('options', options);
  const { root = '/', readFile: read = defaultRead, signal, platform = process.platform } = options;
  checkSignal(signal)?.throwIfAborted();
  if (options.hostMemory !== undefined) {
    checkNumber('options.hostMemory', options.hostMemory, { min: 0, above: true, infinity: true });
  }
  const r = makeReader(read, signal);
  if (options.cgroupDir === undefined && platform !== 'linux') {
    return readHost(root, r, platform, options.hostMemory);
  }
  const loc =
    options.cgroupDir === undefined
      ? await locateMemoryCgroup(root, read, signal)
      : await locateDir(options.cgroupDir, r);
  if (loc === null) return readHost(root, r, platform, options.hostMemory);
  const host = options.hostMemory ?? (await hostTotal(root, r));
  return loc.version === 1 ? readV1(loc, r, host, root) : readV2(loc, r, host);
}
