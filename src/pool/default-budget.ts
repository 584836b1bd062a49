/**
 * How a pool's byte budget is chosen when `maxBytes` is not given, and the report of that choice.
 *
 * @module
 */
import os from 'node:os';

const MiB = 1024 * 1024;

/** The largest class of the default size-class table, and so the default budget's floor. */
const DEFAULT_LARGEST_CLASS = 16 * MiB;

/**
 * The default budget when no container memory limit is found: 1 GiB. A quarter of the host
 * (several GiB on a build machine or a laptop) would let one pool hold more than most services
 * ever need before its `'wait'` policy applies; 1 GiB is a quarter of a 4 GiB container.
 */
export const DEFAULT_BUDGET_CAP = 1024 * MiB;

/** How the default budget was chosen: see {@link defaultBudget}. */
export interface DefaultBudget {
  /** The budget in bytes. */
  maxBytes: number;
  /**
   * Where the memory figure came from: `'cgroup'` (the container's memory limit, from
   * `process.constrainedMemory()`) or `'host'` (`os.totalmem()`: no limit was found).
   */
  source: 'cgroup' | 'host';
  /** The memory the budget is a quarter of: the limit, or the host's memory. */
  memoryBytes: number;
  /**
   * Which rule set `maxBytes`: `'quarter'` (a quarter of `memoryBytes`), `'floor'` (raised to the
   * largest size class, the least a pool can work with, because a quarter was smaller) or
   * `'cap'` (lowered to {@link DEFAULT_BUDGET_CAP} because no limit was found).
   */
  rule: 'quarter' | 'floor' | 'cap';
}

/**
 * The budget a pool gets without `maxBytes`, and why: a quarter of the memory this process may
 * use, leaving room for the JS heap, native libraries (libvips, zlib) and the page cache. That
 * memory is the container limit from `process.constrainedMemory()` (cgroup v1 or v2, read by
 * libuv) when it is below `os.totalmem()` (larger values are the kernel's "unlimited"). The
 * quarter is then bounded:
 * - **floor**: at least the largest size class (16 MiB for the default table), since a smaller
 *   budget could never serve that class. Under a limit below 64 MiB the pool may then hold more
 *   than a quarter of it: pass `maxBytes` and smaller `sizeClasses` there.
 * - **cap**: without a limit, at most {@link DEFAULT_BUDGET_CAP} (1 GiB).
 *
 * The default pool logs its choice on creation under `NODE_DEBUG=slabio`.
 *
 * @param largestClass The largest size class of the pool (the floor). @default 16 MiB
 * @example
 * ```ts
 * const b = defaultBudget();
 * console.log(`${b.maxBytes} bytes: ${b.rule} of ${b.memoryBytes} (${b.source})`);
 * ```
 */
export function defaultBudget(largestClass: number = DEFAULT_LARGEST_CLASS): DefaultBudget {
  const total = os.totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  const limited = constrained > 0 && constrained < total;
  const memoryBytes = limited ? constrained : total;
  let maxBytes = Math.floor(memoryBytes / 4);
  let rule: DefaultBudget['rule'] = 'quarter';
  if (!limited && maxBytes > DEFAULT_BUDGET_CAP) {
    maxBytes = DEFAULT_BUDGET_CAP;
    rule = 'cap';
  }
  if (maxBytes < largestClass) {
    maxBytes = largestClass;
    rule = 'floor';
  }
  return { maxBytes, source: limited ? 'cgroup' : 'host', memoryBytes, rule };
}

/** One line for the debug log: the budget and the rule that chose it. */
export function describeBudget(b: DefaultBudget): string {
  const size = (n: number) =>
    n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(1)} GiB` : `${(n / MiB).toFixed(1)} MiB`;
  const memory = b.source === 'cgroup' ? 'the cgroup limit' : "the host's memory (no limit found)";
  const quarter = `a quarter of ${memory}, ${size(b.memoryBytes)}`;
  if (b.rule === 'quarter') return `${size(b.maxBytes)}, ${quarter}`;
  const why = b.rule === 'floor' ? 'the largest size class' : 'the cap without a limit';
  return `${size(b.maxBytes)} (${why}; ${quarter}, is ${size(Math.floor(b.memoryBytes / 4))})`;
}
