/**
 * Which allocator the process runs on and how much memory it holds free, for `slabio inspect`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { type MallocInfo, mallocInfo } from '../native/malloc.js';

/** What `slabio inspect` reports about the memory allocator. */
export interface AllocatorReport {
  /** `glibc`, `musl` or `unknown`. */
  libc: 'glibc' | 'musl' | 'unknown';
  /** glibc version at run time, e.g. `2.36`. */
  glibcVersion: string | null;
  /** `MALLOC_ARENA_MAX` from the environment, `null` when unset. */
  mallocArenaMax: string | null;
  /** An allocator loaded in place of malloc (`LD_PRELOAD` or linked), `null` for none. */
  preloaded: 'jemalloc' | 'tcmalloc' | 'mimalloc' | null;
  /** glibc `mallinfo2()` figures (needs the native addon), `null` otherwise. */
  malloc: MallocInfo | null;
}

const ALTERNATIVES = ['jemalloc', 'tcmalloc', 'mimalloc'] as const;

/** Inspect the allocator of this process. Never throws. */
export async function allocatorReport(): Promise<AllocatorReport> {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
    ?.header;
  const glibcVersion = header?.glibcVersionRuntime ?? null;
  // /proc/self/maps lists every mapped shared object: a preloaded allocator shows up there even
  // when LD_PRELOAD was cleared after start.
  const maps =
    process.platform === 'linux' ? await readFile('/proc/self/maps', 'utf8').catch(() => '') : '';
  const preload = process.env.LD_PRELOAD ?? '';
  const preloaded =
    ALTERNATIVES.find((a) => preload.includes(a) || maps.includes(`lib${a}`)) ?? null;
  const libc = glibcVersion !== null ? 'glibc' : maps.includes('ld-musl') ? 'musl' : 'unknown';
  return {
    libc,
    glibcVersion,
    mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null,
    preloaded,
    malloc: libc === 'glibc' && preloaded === null ? mallocInfo() : null,
  };
}
