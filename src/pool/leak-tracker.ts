/**
 * Leak detection: leases garbage-collected without `release()`. Internal to the pool.
 *
 * @module
 */
import { channels } from '../debug.js';
import type { Lease } from './lease.js';
import type { Block } from './size-class.js';

/** What is remembered about a watched lease. */
export interface LeakRecord {
  readonly block: Block | null;
  readonly size: number;
  /** Bytes the lease counts against the budget (oversize leases), else 0. */
  readonly budgetBytes: number;
  /** The acquiring stack in debug mode, else ''. */
  readonly stack: string;
}

/**
 * Watches sampled leases with a FinalizationRegistry. A collected, unreleased lease is handed to
 * `onLeak` (the pool's accounting) and reported with a `SLABIO_LEAK` warning once per acquiring
 * stack — once per pool outside debug mode, where no stacks are taken.
 */
export class LeakTracker {
  readonly #owner: object;
  readonly #name: string;
  readonly #debug: boolean;
  readonly #sampleRate: number;
  readonly #registry: FinalizationRegistry<LeakRecord> | null;
  readonly #reported = new Set<string>();
  #count = 0;

  constructor(
    owner: object,
    options: { name: string; debug: boolean; sampleRate: number },
    onLeak: (record: LeakRecord) => void,
  ) {
    this.#owner = owner;
    this.#name = options.name;
    this.#debug = options.debug;
    this.#sampleRate = options.sampleRate;
    this.#registry =
      options.debug || options.sampleRate > 0
        ? new FinalizationRegistry<LeakRecord>((record) => {
            onLeak(record);
            this.#report(record);
          })
        : null;
  }

  /** Whether the next lease is to be watched: all in debug mode, else 1 in `sampleRate`. */
  sample(): boolean {
    if (this.#registry === null) return false;
    if (this.#debug) return true;
    return this.#count++ % this.#sampleRate === 0;
  }

  /** Watch `lease`. The stack is the expensive part (~µs), so only debug mode takes it. */
  track(lease: Lease, block: Block | null, size: number, budgetBytes: number): void {
    const stack = this.#debug ? (new Error().stack ?? '').split('\n').slice(4).join('\n') : '';
    this.#registry?.register(lease, { block, size, budgetBytes, stack }, lease);
  }

  /** Stop watching a released lease. */
  untrack(lease: Lease): void {
    this.#registry?.unregister(lease);
  }

  #report(record: LeakRecord): void {
    if (channels.poolLeak.hasSubscribers) {
      channels.poolLeak.publish({ pool: this.#owner, size: record.size, stack: record.stack });
    }
    if (this.#reported.has(record.stack)) return;
    this.#reported.add(record.stack);
    const where = record.stack
      ? `\nAcquired at:\n${record.stack}`
      : ' Set SLABIO_DEBUG=1 to record where leases are acquired.';
    process.emitWarning(
      `A lease of ${record.size} bytes from pool "${this.#name}" was garbage-collected without release(); its block will not be reused.${where}`,
      { type: 'SlabioWarning', code: 'SLABIO_LEAK' },
    );
  }
}
