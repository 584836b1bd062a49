/**
 * Options of `RenderWorkers` and their validation.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { checkObject, intOption, numberOption, objectOption, shown } from '../validate.js';

/** Timer bounds: setTimeout fires at once (with a warning) past 2^31 - 1 ms. */
const TIMER = { max: 2 ** 31 - 1 } as const;

/** Options of {@link RenderWorkers}. */
export interface RenderWorkersOptions {
  /**
   * Most worker threads at once. Each costs its own V8 heap (about 10 MiB of working set
   * measured here, see the README); more than the cores you can spare only adds memory.
   * @default os.availableParallelism()
   */
  max?: number | undefined;
  /** Threads kept running even when idle. @default 0 */
  min?: number | undefined;
  /** A thread idle this long is stopped (while more than `min` run). `0` keeps them. @default 30000 */
  idleTimeoutMs?: number | undefined;
  /**
   * Give up waiting for a free thread after this long with `ERR_SLABIO_TIMEOUT`.
   * @default 30000
   */
  acquireTimeoutMs?: number | undefined;
  /** A thread that has not imported `setup` and reported ready by then has failed to start. @default 10000 */
  startTimeoutMs?: number | undefined;
  /** Passed to each `Worker`: a thread that exceeds them dies, and its tasks fail with `'exit'`. */
  resourceLimits?: ResourceLimits | undefined;
  /**
   * A module (path or `file:` URL) each thread imports before it reports ready: register fonts,
   * warm caches. When it throws, the thread has failed to start.
   */
  setup?: string | URL | undefined;
}

/** @internal Validated options. */
export interface WorkersSettings {
  max: number;
  min: number;
  idleTimeoutMs: number;
  acquireTimeoutMs: number;
  startTimeoutMs: number;
  resourceLimits: ResourceLimits | undefined;
  setup: string | undefined;
}

/** @internal A module specifier as `import()` in a worker takes it: a URL string. */
export function moduleUrl(name: string, value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${name} must be a module path or URL, got ${shown(value)}`);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) return value;
  if (!value.startsWith('/') && !/^[a-z]:[\\/]/i.test(value) && !value.startsWith('\\\\')) {
    throw new TypeError(`${name} must be an absolute path or a URL, got ${shown(value)}`);
  }
  return new URL(`file://${value.startsWith('/') ? '' : '/'}${value.replaceAll('\\', '/')}`).href;
}

/** @internal Validate options; errors name the option and the value. */
export function workersSettings(options: RenderWorkersOptions): WorkersSettings {
  checkObject('options', options);
  const max = intOption('options.max', options.max, availableParallelism(), { min: 1, max: 256 });
  const { setup } = options;
  return {
    max,
    min: intOption('options.min', options.min, 0, { max }),
    idleTimeoutMs: intOption('options.idleTimeoutMs', options.idleTimeoutMs, 30_000, TIMER),
    acquireTimeoutMs: intOption('options.acquireTimeoutMs', options.acquireTimeoutMs, 30_000, {
      ...TIMER,
      min: 1,
    }),
    startTimeoutMs: intOption('options.startTimeoutMs', options.startTimeoutMs, 10_000, {
      ...TIMER,
      min: 1,
    }),
    resourceLimits: resourceLimitsOption(options.resourceLimits),
    setup: setup === undefined ? undefined : moduleUrl('options.setup', setup),
  };
}

/**
 * Node's worker `resourceLimits`, passed through after one check: a `stackSizeMb` below 0.5 lets
 * a worker overflow its stack while it boots, which Node 20 reports by ending the whole process
 * (measured: 0.1 exits it with a RangeError and code 6), not as the worker's exit.
 */
function resourceLimitsOption(value: unknown): ResourceLimits | undefined {
  const limits = objectOption('options.resourceLimits', value) as ResourceLimits | undefined;
  if (limits?.stackSizeMb !== undefined) {
    numberOption('options.resourceLimits.stackSizeMb', limits.stackSizeMb, 4, { min: 0.5 });
  }
  return limits;
}
