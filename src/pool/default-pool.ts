/**
 * The process-wide default pool.
 *
 * @module
 */
import { BufferPool } from './buffer-pool.js';

let shared: BufferPool | undefined;

/**
 * The shared pool used when an API's `pool` option is omitted, created on first use with the
 * default options (`SLABIO_DEBUG=1` turns on its debug mode). A closed default pool is replaced.
 *
 * @example
 * ```ts
 * const lease = getDefaultPool().acquire(64 * 1024);
 * ```
 */
export function getDefaultPool(): BufferPool {
  if (shared === undefined || shared.closed) shared = new BufferPool({ name: 'default' });
  return shared;
}
