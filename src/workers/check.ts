/**
 * The shared check of a `workers` option and its pool. Internal.
 *
 * @module
 */
import type { BufferPool } from '../pool/index.js';
import { shown } from '../validate.js';
import { RenderWorkers } from './render-workers.js';

/**
 * @internal Check `options.workers`, and that `pool` can be written by worker threads.
 * @throws {TypeError} naming the option.
 */
export function checkWorkers(workers: unknown, pool: BufferPool): RenderWorkers {
  if (!(workers instanceof RenderWorkers)) {
    throw new TypeError(`options.workers must be a RenderWorkers, got ${shown(workers)}`);
  }
  if (!pool.shared) {
    throw new TypeError(
      'options.pool must be a BufferPool created with { shared: true } when options.workers is set (workers write into its blocks)',
    );
  }
  return workers;
}
