/**
 * The allocator's side of the memory problem: glibc keeps freed chunks in its arenas, so RSS stays
 * high after a burst of large allocations. These calls let the pool and the memory guard hand the
 * memory back and show how much is free-but-held.
 *
 * @module
 */
import { loadBinding } from './binding.js';

/** Allocator statistics from glibc `mallinfo2()`, summed over all arenas. */
export interface MallocInfo {
  /** Bytes obtained from the OS with `brk`/`sbrk` and arena `mmap`s (not counting large chunks). */
  arenaBytes: number;
  /** Bytes in chunks currently allocated from the arenas. */
  inUseBytes: number;
  /** Bytes free inside the arenas: held by the process (in RSS if touched) but unused. */
  freeBytes: number;
  /** Bytes in chunks allocated directly with `mmap` (returned to the OS on `free`). */
  mmapBytes: number;
  /** Bytes at the top of the main heap that `malloc_trim` could release right away (`keepcost`). */
  releasableBytes: number;
}

/**
 * Return free heap memory to the OS with glibc `malloc_trim(0)`, which walks every arena and
 * `madvise`s whole free pages away. Synchronous: it takes the arena locks and typically costs well
 * under a millisecond to a few milliseconds for a large heap.
 *
 * Never throws. Returns `false` without the native addon or on a non-glibc libc (musl, macOS).
 *
 * @returns `true` when some memory was released to the OS.
 * @example
 * ```ts
 * import { mallocTrim } from 'slabio/linux';
 * pool.trim(); // drops idle slabs
 * mallocTrim(); // and makes the allocator give the pages back
 * ```
 */
export function mallocTrim(): boolean {
  const b = loadBinding();
  if (b === null || !b.glibc) return false;
  return b.mallocTrim();
}

/**
 * Allocator statistics (glibc `mallinfo2`), or `null` without the native addon or glibc >= 2.33.
 * Never throws.
 *
 * @example
 * ```ts
 * const info = mallocInfo();
 * if (info) console.log(`${info.freeBytes} bytes free but held by malloc`);
 * ```
 */
export function mallocInfo(): MallocInfo | null {
  const b = loadBinding();
  if (b === null) return null;
  return b.mallocInfo();
}
