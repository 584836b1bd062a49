/**
 * Find the files under a directory that hold the most page cache, for `slabio inspect <dir>`.
 *
 * @module
 */
import { opendir } from 'node:fs/promises';
import path from 'node:path';
import { residency } from '../fs/index.js';

/** One file's cached bytes. */
export interface CachedFile {
  path: string;
  bytes: number;
  cachedBytes: number;
  /** False where the kernel may report every page resident (files not owned or writable). */
  exact: boolean;
}

/** Result of {@link scanResidency}. */
export interface ResidencyScan {
  dir: string;
  /** Regular files measured. */
  scanned: number;
  /** Files that could not be measured (permissions, vanished). */
  failed: number;
  /** True when `maxFiles` stopped the walk. */
  truncated: boolean;
  /** Sum of `cachedBytes` over the scanned files. */
  cachedBytes: number;
  /** The `top` files by cached bytes, largest first. */
  top: CachedFile[];
  /** Why nothing could be measured (no native addon), `null` otherwise. */
  unavailable: string | null;
}

/**
 * Walk `dir` (depth first, symlinks not followed) and measure each regular file's residency.
 *
 * @throws {Error} the fs error when `dir` itself cannot be opened.
 * @example
 * ```ts
 * const scan = await scanResidency('/data', { top: 5 });
 * ```
 */
export async function scanResidency(
  dir: string,
  options: { top?: number; maxFiles?: number; signal?: AbortSignal } = {},
): Promise<ResidencyScan> {
  const top = options.top ?? 10;
  const maxFiles = options.maxFiles ?? 5000;
  const result: ResidencyScan = {
    dir: path.resolve(dir),
    scanned: 0,
    failed: 0,
    truncated: false,
    cachedBytes: 0,
    top: [],
    unavailable: null,
  };
  const files: CachedFile[] = [];
  const stack = [result.dir];
  let first = true;
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(current);
    } catch (err) {
      if (first) throw err;
      result.failed++;
      continue;
    }
    first = false;
    for await (const entry of handle) {
      options.signal?.throwIfAborted();
      const p = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(p);
      if (!entry.isFile()) continue;
      if (result.scanned >= maxFiles) {
        result.truncated = true;
        break;
      }
      try {
        const r = await residency(p);
        result.scanned++;
        result.cachedBytes += r.cachedBytes;
        files.push({ path: p, bytes: r.bytes, cachedBytes: r.cachedBytes, exact: r.exact });
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ERR_SLABIO_UNSUPPORTED') {
          result.unavailable = (err as Error).message;
          return result;
        }
        result.failed++;
      }
    }
    if (result.truncated) break;
  }
  files.sort((a, b) => b.cachedBytes - a.cachedBytes);
  result.top = files.slice(0, top).filter((f) => f.cachedBytes > 0);
  return result;
}
