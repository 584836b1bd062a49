/**
 * Read a whole file into a pool lease without leaving it in the page cache.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LimitExceededError } from '../errors.js';
import { type LinuxBinding, linuxBindingOrWarn } from '../native/binding.js';
import { capabilities } from '../native/capabilities.js';
import { toSystemError } from '../native/syscalls.js';
import { checkNonNegativeInt, checkSignal } from '../native/validate.js';
import { type BufferPool, getDefaultPool, type Lease } from '../pool/index.js';
import { DEFAULT_WINDOW_BYTES } from './options.js';

/** Options of {@link readFileNoCache}. */
export interface ReadFileNoCacheOptions {
  /** The pool the lease comes from. @default getDefaultPool() */
  pool?: BufferPool;
  /** Refuse files larger than this many bytes (before allocating). @default Infinity */
  maxBytes?: number;
  /**
   * `'auto'`: `preadv2(RWF_DONTCACHE)` where the filesystem takes it, else reads with
   * `POSIX_FADV_SEQUENTIAL` and `POSIX_FADV_DONTNEED` behind the reader; `'none'` reads normally.
   * @default 'auto'
   */
  strategy?: 'auto' | 'dontcache' | 'fadvise' | 'none';
  /** Bytes read per call, and how far behind the reader the cache is dropped. @default 8 MiB */
  chunkBytes?: number;
  /** Aborting releases the lease and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

type ReadMode = 'dontcache' | 'fadvise' | 'none';

async function readMode(
  requested: ReadFileNoCacheOptions['strategy'],
  path: string,
): Promise<{ mode: ReadMode; b: LinuxBinding | null }> {
  if (requested === 'none') return { mode: 'none', b: null };
  const b = linuxBindingOrWarn('readFileNoCache');
  if (b === null) return { mode: 'none', b: null };
  if (requested === 'fadvise') return { mode: 'fadvise', b };
  const caps = await capabilities(dirname(resolve(path)));
  if (caps.memoryBacked && requested === 'auto') return { mode: 'none', b };
  if (caps.dontcache.available || requested === 'dontcache') return { mode: 'dontcache', b };
  return { mode: 'fadvise', b };
}

/**
 * Read the whole file at `path` into one lease from the pool, so reading an input (even twice) does
 * not turn it into active page cache that counts against the container's memory limit. Pages that
 * were already cached are dropped too (`DONTNEED` does not know who cached them).
 *
 * The lease holds exactly the file's bytes (its size when opened; a file that shrinks meanwhile
 * gives a shorter lease). Release it when done.
 *
 * @throws {TypeError|RangeError} for bad arguments, naming the option.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` when the file is larger than `maxBytes`.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from the pool.
 * @throws {SystemError} `ERR_SLABIO_SYSTEM` when a cache-control syscall fails.
 * @example
 * ```ts
 * using input = await readFileNoCache('upload.zip', { maxBytes: 100 << 20 });
 * unzip(input.buffer);
 * ```
 */
export async function readFileNoCache(
  path: string,
  options: ReadFileNoCacheOptions = {},
): Promise<Lease> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`path must be a non-empty string, got ${String(path)}`);
  }
  const { maxBytes = Number.POSITIVE_INFINITY, signal, strategy = 'auto' } = options;
  if (maxBytes !== Number.POSITIVE_INFINITY) checkNonNegativeInt('options.maxBytes', maxBytes);
  const chunk = options.chunkBytes ?? DEFAULT_WINDOW_BYTES;
  checkNonNegativeInt('options.chunkBytes', chunk);
  if (chunk < 4096) throw new RangeError(`options.chunkBytes must be at least 4096, got ${chunk}`);
  if (!['auto', 'dontcache', 'fadvise', 'none'].includes(strategy)) {
    throw new TypeError(
      `options.strategy must be 'auto', 'dontcache', 'fadvise' or 'none', got ${String(strategy)}`,
    );
  }
  checkSignal(signal);
  const pool = options.pool ?? getDefaultPool();
  const { mode, b } = await readMode(strategy, path);
  const fh = await open(path, 'r');
  let lease: Lease | null = null;
  try {
    const size = (await fh.stat()).size;
    if (size > maxBytes) throw new LimitExceededError(maxBytes, size, path);
    lease = await pool.acquireAsync(size, signal === undefined ? {} : { signal });
    const buf = lease.buffer;
    const fd = fh.fd;
    try {
      if (b !== null && mode === 'fadvise') {
        await b.fadvise(fd, 0, 0, b.constants.POSIX_FADV_SEQUENTIAL);
      }
      let off = 0;
      let dropped = 0;
      while (off < size) {
        signal?.throwIfAborted();
        const view = buf.subarray(off, Math.min(size, off + chunk));
        const n =
          b !== null && mode === 'dontcache'
            ? await b.preadv2(fd, [view], off, b.constants.RWF_DONTCACHE)
            : (await fh.read(view, 0, view.length, off)).bytesRead;
        if (n === 0) break;
        off += n;
        // Clean pages can go as soon as they are copied out; keep readahead's window ahead alone.
        if (b !== null && mode === 'fadvise' && off - dropped >= chunk) {
          await b.fadvise(fd, dropped, off - dropped, b.constants.POSIX_FADV_DONTNEED);
          dropped = off;
        }
      }
      // Readahead may have pulled pages past what was dropped: drop the whole file once more.
      if (b !== null && mode !== 'none') {
        await b.fadvise(fd, 0, 0, b.constants.POSIX_FADV_DONTNEED);
      }
      if (off < size) lease.truncate(off);
    } catch (err) {
      throw toSystemError(err);
    }
    const result = lease;
    lease = null;
    return result;
  } finally {
    if (lease !== null) lease.release();
    await fh.close();
  }
}
