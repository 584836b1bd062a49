/**
 * The process-wide default pool.
 *
 * @module
 */
import { debug } from '../debug.js';
import { BufferPool } from './buffer-pool.js';
import { defaultBudget, describeBudget } from './default-budget.js';

let shared: BufferPool | undefined;

/**
 * The shared pool used when an API's `pool` option is omitted, created on first use with the
 * default options (`SLABIO_DEBUG=1` turns on its debug mode); its budget is chosen as
 * {@link defaultBudget} says, and logged under `NODE_DEBUG=slabio`. A closed default pool is
 * replaced.
 *
 * @example
 * ```ts
 * const lease = getDefaultPool().acquire(64 * 1024);
 * ```
 */
export function getDefaultPool(): BufferPool {
  if (shared === undefined || shared.closed) {
    shared = new BufferPool({ name: 'default' });
    debug('default pool: maxBytes %s', describeBudget(defaultBudget()));
  }
  return shared;
}
