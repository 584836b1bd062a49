/**
 * Handing dropped slab memory back to the operating system.
 *
 * Dropping the pool's reference to a slab frees nothing by itself: V8 frees the ArrayBuffer's
 * backing store when a GC collects it (and not before any stale user view is gone), and glibc
 * then keeps the freed chunk in its arena. glibc's mmap threshold is dynamic: after the first
 * mmapped chunk of a size is freed, later chunks up to 32 MiB come from the heap, and freed heap
 * chunks stay in RSS (measured here: 200 × 1 MiB buffers freed and collected kept RSS at 242 MB
 * from the second round on). `malloc_trim(0)` returns those pages; this module calls it once the
 * dropped slabs have actually been collected, found through a FinalizationRegistry.
 *
 * @module
 */
import { mallocTrim } from '../native/malloc.js';

let scheduled = false;

function trimSoon(): void {
  if (scheduled) return;
  scheduled = true;
  // Coalesce the callbacks of one GC (many slabs die together) into one malloc_trim call.
  setImmediate(() => {
    scheduled = false;
    mallocTrim();
  }).unref();
}

const collected = new FinalizationRegistry<undefined>(trimSoon);

/** Call `malloc_trim(0)` (when the native addon is loaded) after `memory` has been collected. */
export function returnToOsWhenCollected(memory: ArrayBuffer | SharedArrayBuffer): void {
  collected.register(memory, undefined);
}
