/**
 * Read a whole file into a pool lease without leaving it in the page cache.
 *
 * @module
 */
import { linuxBindingOrWarn, requireLinuxBinding } from '../native/binding.js';
import type { BufferPool, Lease } from '../pool/index.js';
import { BlockWriter } from '../read-all/block-writer.js';
import { drainFile } from '../read-all/from-file.js';
import { openFile } from '../source/index.js';
import { checkObject, checkSignal, intOption, oneOf, poolOption, toPath } from '../validate.js';
import { CacheDroppingFile } from './cache-dropping-file.js';
import { DEFAULT_WINDOW_BYTES } from './options.js';

/** Options of {@link readFileNoCache}. */
export interface ReadFileNoCacheOptions {
  /** The pool the lease comes from. @default getDefaultPool() */
  pool?: BufferPool;
  /** Refuse files larger than this many bytes (before allocating). @default Infinity */
  maxBytes?: number;
  /**
   * `'auto'`: `preadv2(RWF_DONTCACHE)` where the file's filesystem takes it (tried on the first
   * read), else reads with `POSIX_FADV_SEQUENTIAL` and `POSIX_FADV_DONTNEED` behind the reader;
   * pipes and character devices (no page cache) are read normally. Decided on the file's own
   * descriptor: nothing is ever created next to the input. `'none'` reads normally.
   * @default 'auto'
   */
  strategy?: 'auto' | 'dontcache' | 'fadvise' | 'none';
  /** Bytes read per call, and how far behind the reader the cache is dropped. @default 8 MiB */
  chunkBytes?: number;
  /** Aborting releases the lease and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

const READ_STRATEGIES = ['auto', 'dontcache', 'fadvise', 'none'] as const;

/**
 * Read the whole file at `path` (a path or a `file:` URL) into one lease from the pool, so reading an input (even twice) does
 * not turn it into active page cache that counts against the container's memory limit. Pages that
 * were already cached are dropped too (`DONTNEED` does not know who cached them).
 *
 * The same whole-file engine as `readFilePooled`, with the cache control added to each read, so
 * the two agree on every file: the `fstat` size is read into one block of that size (a file that
 * shrinks meanwhile rejects with `ERR_SLABIO_LENGTH_MISMATCH`, like `fs.readFile`'s snapshot of
 * the size at open), and files whose size is unknown (`/proc`, FIFOs, character devices) are read
 * to their end, growing class by class under `maxBytes`; an abort also ends a read that waits on
 * a FIFO or device (see `readAll`). Release the lease when done.
 *
 * @throws {TypeError|RangeError} for bad arguments, naming the option.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` when the file is larger than `maxBytes` (before
 * allocating when its size is known).
 * @throws {LengthMismatchError} `ERR_SLABIO_LENGTH_MISMATCH` when the file shrinks while it is read.
 * @throws {UnsupportedError} `ERR_SLABIO_UNSUPPORTED` for a forced `'dontcache'` or `'fadvise'`
 * that cannot work here: without the native addon, on a file without positions (pipe, device), or
 * (`'dontcache'`) on a filesystem or kernel that refuses `RWF_DONTCACHE`.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from the pool.
 * @throws {Error} the kernel's error when a system call fails (`open`, `read`, `preadv2`,
 * `posix_fadvise`), shaped as Node's fs errors: `code` `ENOENT`, `EISDIR`, `EIO`, …
 * @throws `signal.reason` on abort.
 * @example
 * ```ts
 * using input = await readFileNoCache('upload.zip', { maxBytes: 100 << 20 });
 * unzip(input.buffer);
 * ```
 */
export async function readFileNoCache(
  pathOrUrl: string | URL,
  options: ReadFileNoCacheOptions = {},
): Promise<Lease> {
  const path = toPath('path', pathOrUrl);
  checkObject('options', options);
  const maxBytes = intOption('options.maxBytes', options.maxBytes, Number.POSITIVE_INFINITY, {
    infinity: true,
  });
  const chunk = intOption('options.chunkBytes', options.chunkBytes, DEFAULT_WINDOW_BYTES, {
    min: 4096,
  });
  const strategy = oneOf('options.strategy', options.strategy, READ_STRATEGIES, 'auto');
  const signal = checkSignal(options.signal);
  signal?.throwIfAborted();
  const pool = poolOption(options.pool);
  // A forced strategy fails as the writers' do; only 'auto' falls back to plain reads.
  const b =
    strategy === 'none'
      ? null
      : strategy === 'auto'
        ? linuxBindingOrWarn('readFileNoCache')
        : requireLinuxBinding(`readFileNoCache strategy '${strategy}'`);
  const opened = await openFile(path, signal);
  const file = b === null ? opened : new CacheDroppingFile(opened, strategy, b, chunk);
  const writer = new BlockWriter({ pool, maxBytes, declared: opened.size, signal, label: path });
  try {
    await writer.start();
    if (file instanceof CacheDroppingFile) await file.start();
    // A size from fstat is not probed past (probe: false), exactly as readFilePooled reads.
    await drainFile(file, writer, opened.size, false, signal);
    if (file instanceof CacheDroppingFile) await file.finish();
    signal?.throwIfAborted();
    return await writer.toLease();
  } catch (err) {
    writer.close();
    throw err;
  } finally {
    await file.close();
  }
}
