/**
 * Concrete advice from an inspection: what to change, in the order it matters.
 *
 * @module
 */

import type { CgroupMemory } from '../memory/index.js';
import type { Capabilities } from '../native/index.js';
import type { AllocatorReport } from './allocator.js';
import { bytes, percent } from './format.js';

const MiB = 1024 * 1024;

function memoryAdvice(m: CgroupMemory, out: string[]): void {
  if (m.version === null) {
    out.push(
      'No memory cgroup found: these are host figures. Inside a container, run this command there (kubectl exec) to see its limit.',
    );
  } else if (m.limit === null) {
    out.push(
      'No memory limit on this cgroup: nothing will OOM-kill it at a container limit, but the guard has no target; set resources.limits.memory (or pass MemoryGuard a byte threshold).',
    );
  }
  if (m.limit !== null && m.workingSet >= 0.9 * m.limit) {
    out.push(
      `The working set is at ${percent(m.workingSet, m.limit)} of the limit: the OOM killer acts at 100%. Start a MemoryGuard with a soft threshold below this.`,
    );
  }
  if (m.activeFile >= 16 * MiB && m.activeFile >= 0.25 * m.workingSet) {
    out.push(
      `${bytes(m.activeFile)} of the working set is active page cache (files read more than once). Write files with writeFileNoCache()/createNoCacheWriteStream(), read them with readFileNoCache(), or let MemoryGuard drop the cache of tracked files.`,
    );
  }
  if (m.inactiveFile >= 64 * MiB) {
    out.push(
      `${bytes(m.inactiveFile)} of inactive page cache counts in "usage" but not in the working set Kubernetes judges by: alert on container_memory_working_set_bytes, not usage.`,
    );
  }
  if (m.shmem >= 16 * MiB) {
    out.push(
      `${bytes(m.shmem)} is tmpfs/shared memory: it cannot be dropped, only deleted. Keep temp files off tmpfs (emptyDir.medium: Memory).`,
    );
  }
  if ((m.highEvents ?? 0) > 0) {
    out.push(
      `The kernel has throttled this cgroup ${m.highEvents} time(s) over memory.high${m.high === null ? '' : ` (${bytes(m.high)})`}: allocations stall there long before the limit. MemoryGuard's thresholds are fractions of that ceiling.`,
    );
  }
  if ((m.events?.oomKill ?? 0) > 0) {
    out.push(`This cgroup has recorded ${m.events?.oomKill} OOM kill(s).`);
  }
  if (m.pressure !== null && m.pressure.some.avg10 >= 10) {
    out.push(
      `Tasks stalled on memory ${m.pressure.some.avg10.toFixed(1)}% of the last 10 s (PSI, ${m.pressure.scope}): reclaim is hurting latency.`,
    );
  }
}

/**
 * Turn the figures into short, actionable sentences. `m` is `null` when the cgroup could not be
 * read; `memoryError` says why.
 */
export function advise(
  m: CgroupMemory | null,
  a: AllocatorReport,
  caps: Capabilities | null,
  memoryError?: string,
): string[] {
  const out: string[] = [];
  if (m === null) {
    out.push(
      `The memory cgroup cannot be read (${memoryError ?? 'unknown error'}). A MemoryGuard in this process is blind: it takes no samples and runs no soft or hard actions, ready() keeps its last answer, and it reports stats().blind, the 'blind' event, slabio_guard_blind and one SLABIO_GUARD_BLIND warning. Check that the memory controller is mounted and readable here (/proc/self/cgroup, /sys/fs/cgroup), or point --cgroup-dir at the group.`,
    );
  } else {
    memoryAdvice(m, out);
  }
  if (a.libc === 'glibc' && a.preloaded === null && a.mallocArenaMax === null) {
    out.push(
      'glibc malloc may create up to 8 arenas per core (libuv and native-addon threads each get one) that fragment and keep freed memory: set MALLOC_ARENA_MAX=2 in the container environment.',
    );
  }
  if (a.malloc !== null && a.malloc.freeBytes >= 32 * MiB) {
    out.push(
      `malloc holds ${bytes(a.malloc.freeBytes)} free inside its arenas: mallocTrim() (run by MemoryGuard and pool trimming) hands it back.`,
    );
  }
  if (caps !== null) {
    if (!caps.native.available) {
      out.push(
        `Page-cache control is off: ${caps.native.reason ?? 'native addon missing'}. Install a C++ toolchain and run npm rebuild slabio.`,
      );
    }
    if (caps.memoryBacked) {
      out.push(
        `${caps.filesystem.dir} is on ${caps.filesystem.type}: files there live in memory and count as shmem; dropping cache cannot help.`,
      );
    }
  }
  if (out.length === 0) out.push('Nothing to fix: the working set is well under the limit.');
  return out;
}
