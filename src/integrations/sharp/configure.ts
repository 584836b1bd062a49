/**
 * `configureSharp`: process-wide sharp settings that suit a container.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { debug, warnOnce } from '../../debug.js';
import { booleanOption, checkObject, intOption } from '../../validate.js';

/** Bounds of libvips' operation cache, as `sharp.cache()` takes them. */
export interface SharpCacheLimits {
  /** Megabytes of memory the cache may hold. */
  memory: number;
  /** Open files the cache may hold. */
  files: number;
  /** Operations the cache may hold. */
  items: number;
}

/** Options of {@link configureSharp}. Every option is optional. */
export interface ConfigureSharpOptions {
  /**
   * libvips' operation cache. It only helps when the same image goes through the same operation
   * again; a batch of different images gains nothing and the cache holds memory (sharp's default
   * is up to 50 MB) and open files. `false` turns it off; limits bound it.
   * @default false
   */
  cache?: false | Partial<SharpCacheLimits> | undefined;
  /**
   * libvips threads per image (`sharp.concurrency`). Images already run in parallel on libuv's
   * thread pool (`UV_THREADPOOL_SIZE`, 4 by default), and every libvips thread has its own buffers
   * and, under glibc, its own malloc arena; in a container `os.cpus()` counts the host's CPUs,
   * not the container's quota. `0` restores sharp's default.
   * @default 1
   */
  concurrency?: number | undefined;
  /**
   * Warn (once per process, code `SLABIO_MALLOC_ARENA`) when glibc's malloc is in use without
   * `MALLOC_ARENA_MAX` and without a preloaded jemalloc/tcmalloc/mimalloc.
   * @default true
   */
  warnMallocArena?: boolean | undefined;
}

/** What {@link configureSharp} set and found. */
export interface SharpConfigReport {
  /** The cache limits now in force; all zero when it is off. */
  cache: SharpCacheLimits;
  /** libvips threads per image now in force. */
  concurrency: number;
  /** The libvips thread count before this call. */
  previousConcurrency: number;
  /** Images processed in parallel at most: libuv's thread pool size. */
  threadpoolSize: number;
  /** The C library: `glibc`, `musl` or `other` (macOS, Windows, unknown). */
  libc: 'glibc' | 'musl' | 'other';
  /** An allocator preloaded in place of malloc, or `null`. */
  preloadedAllocator: 'jemalloc' | 'tcmalloc' | 'mimalloc' | null;
  /** `MALLOC_ARENA_MAX` from the environment, or `null` when unset. */
  mallocArenaMax: string | null;
  /** Whether glibc's arenas are unbounded (glibc, no preloaded allocator, no `MALLOC_ARENA_MAX`). */
  mallocArenaWarning: boolean;
  /** libvips and sharp versions. */
  versions: { vips: string; sharp: string };
}

const ALLOCATORS = ['jemalloc', 'tcmalloc', 'mimalloc'] as const;

function detectAllocator(): Pick<SharpConfigReport, 'libc' | 'preloadedAllocator'> {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })
    ?.header;
  let maps = '';
  if (process.platform === 'linux') {
    try {
      // A preloaded allocator shows up here even when LD_PRELOAD was cleared after start.
      maps = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      maps = '';
    }
  }
  const preload = process.env.LD_PRELOAD ?? '';
  const preloadedAllocator =
    ALLOCATORS.find((a) => preload.includes(a) || maps.includes(`lib${a}`)) ?? null;
  const libc =
    header?.glibcVersionRuntime !== undefined
      ? 'glibc'
      : maps.includes('ld-musl')
        ? 'musl'
        : 'other';
  return { libc, preloadedAllocator };
}

function cacheSetting(value: unknown): false | SharpCacheLimits {
  if (value === undefined || value === false) return false;
  checkObject('options.cache', value);
  const v = value as Partial<SharpCacheLimits>;
  // sharp's defaults for limits left out: 50 MB, 20 files, 100 operations.
  return {
    memory: intOption('options.cache.memory', v.memory, 50),
    files: intOption('options.cache.files', v.files, 20),
    items: intOption('options.cache.items', v.items, 100),
  };
}

/**
 * Apply container-friendly, process-wide sharp settings and report what is in force. Call it once
 * at startup, before the first image; calling again applies the new values. Importing
 * `slabio/sharp` changes nothing by itself.
 *
 * - libvips' operation cache off (or bounded): it only pays off for the same operation on the same
 *   image again, and otherwise holds memory and open files.
 * - One libvips thread per image: parallelism comes from running several images at once.
 * - A one-time warning (`SLABIO_MALLOC_ARENA`) when glibc's malloc runs without `MALLOC_ARENA_MAX`:
 *   glibc gives threads up to 8 × cores arenas, each libvips worker thread fragments its own and
 *   RSS grows far beyond what is in use (sharp's installation docs recommend jemalloc or
 *   `MALLOC_ARENA_MAX=2`). It must be set in the environment before the process starts.
 *
 * @default options `{ cache: false, concurrency: 1, warnMallocArena: true }`
 * @throws {TypeError|RangeError} naming a bad option.
 * @example
 * ```ts
 * import { configureSharp } from 'slabio/sharp';
 * const report = configureSharp(); // at startup
 * log.info({ sharp: report }, 'sharp configured');
 * ```
 */
export function configureSharp(options: ConfigureSharpOptions = {}): SharpConfigReport {
  checkObject('options', options);
  const cache = cacheSetting(options.cache);
  const concurrency = intOption('options.concurrency', options.concurrency, 1);
  const warn = booleanOption('options.warnMallocArena', options.warnMallocArena, true);

  const previousConcurrency = sharp.concurrency();
  const stats = sharp.cache(cache);
  const now = sharp.concurrency(concurrency);
  const { libc, preloadedAllocator } = detectAllocator();
  const mallocArenaMax = process.env.MALLOC_ARENA_MAX ?? null;
  const mallocArenaWarning = libc === 'glibc' && preloadedAllocator === null && !mallocArenaMax;
  if (mallocArenaWarning && warn) {
    warnOnce(
      'SLABIO_MALLOC_ARENA',
      'sharp runs on glibc malloc without MALLOC_ARENA_MAX: each libvips thread gets its own ' +
        'malloc arena, which fragments and keeps RSS high. Start the process with ' +
        'MALLOC_ARENA_MAX=2 (or preload jemalloc); see "Linux memory allocator" in sharp\'s docs.',
    );
  }
  const threadpoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  debug(
    'configureSharp: cache %o, concurrency %d (was %d), libc %s, MALLOC_ARENA_MAX %s',
    cache,
    now,
    previousConcurrency,
    libc,
    mallocArenaMax,
  );
  return {
    cache: { memory: stats.memory.max, files: stats.files.max, items: stats.items.max },
    concurrency: now,
    previousConcurrency,
    threadpoolSize,
    libc,
    preloadedAllocator,
    mallocArenaMax,
    mallocArenaWarning,
    versions: { vips: sharp.versions.vips, sharp: sharp.versions.sharp ?? '' },
  };
}
