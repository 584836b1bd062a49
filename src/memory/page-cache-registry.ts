/**
 * A bounded registry of files slabio wrote or read recently, so the memory guard knows whose page
 * cache it may drop. The kernel offers no "which files is my cgroup caching" query, hence the list.
 *
 * @module
 */
import path from 'node:path';
import { checkObject, intOption } from '../validate.js';

/** Options of {@link PageCacheRegistry}. */
export interface PageCacheRegistryOptions {
  /**
   * Most paths kept; the least recently touched one is forgotten first.
   * @default 1024
   */
  maxEntries?: number;
}

/**
 * Least-recently-touched set of absolute file paths, bounded by `maxEntries`.
 *
 * @example
 * ```ts
 * const registry = new PageCacheRegistry({ maxEntries: 64 });
 * registry.track('/data/out.bin');
 * for (const p of registry.paths()) await dropCache(p);
 * ```
 */
export class PageCacheRegistry {
  // A Map keeps insertion order: delete + set moves a path to the young end in O(1).
  readonly #paths = new Map<string, number>();
  readonly #max: number;

  /** @throws {RangeError} when `maxEntries` is not a positive integer. */
  constructor(options: PageCacheRegistryOptions = {}) {
    checkObject('options', options);
    this.#max = intOption('options.maxEntries', options.maxEntries, 1024, { min: 1 });
  }

  /** Remember `file` (resolved to an absolute path) as recently written or read. */
  track(file: string): void {
    const key = path.resolve(file);
    this.#paths.delete(key);
    this.#paths.set(key, Date.now());
    if (this.#paths.size > this.#max) {
      const oldest = this.#paths.keys().next().value as string;
      this.#paths.delete(oldest);
    }
  }

  /** Forget `file`, e.g. after deleting it. Returns whether it was tracked. */
  untrack(file: string): boolean {
    return this.#paths.delete(path.resolve(file));
  }

  /** Tracked paths, most recently touched last. */
  paths(): string[] {
    return [...this.#paths.keys()];
  }

  /** Number of tracked paths. */
  get size(): number {
    return this.#paths.size;
  }

  /** Forget every path. */
  clear(): void {
    this.#paths.clear();
  }
}

/** The registry {@link trackFile} fills and `MemoryGuard` reads by default. */
export const defaultPageCacheRegistry: PageCacheRegistry = new PageCacheRegistry();

/**
 * Tell the memory guard that `file` was written or read and its page cache may be dropped under
 * memory pressure. slabio's no-cache writers and readers leave no cache behind; call this for files
 * written or read with plain `fs`.
 *
 * @example
 * ```ts
 * await fs.writeFile(out, data);
 * trackFile(out);
 * ```
 */
export function trackFile(file: string): void {
  defaultPageCacheRegistry.track(file);
}
