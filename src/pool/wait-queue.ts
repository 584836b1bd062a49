/**
 * The FIFO queue of `acquireAsync` requests that wait for memory. Internal to the pool.
 *
 * @module
 */
import { TimeoutError } from '../errors.js';
import type { Lease } from './lease.js';

/** Options for {@link BufferPool.acquireAsync}. */
export interface AcquireOptions {
  /** Abort waiting; the promise rejects with `signal.reason` and the waiter is removed. */
  signal?: AbortSignal;
  /** Give up waiting after this many milliseconds with `ERR_SLABIO_TIMEOUT`. @default no timeout */
  timeoutMs?: number;
}

interface Waiter {
  readonly size: number;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (reason: unknown) => void;
  /** Clear the timer and the abort listener. */
  cleanup(): void;
}

/** Waiters served strictly in arrival order; an abort or timeout removes its waiter at once. */
export class WaitQueue {
  readonly #waiters: Waiter[] = [];
  readonly #onHeadLeft: () => void;

  /**
   * @param onHeadLeft Called (in a microtask) when the waiter at the head left by abort or
   * timeout: the next one may fit now, and with strict FIFO nothing else would serve it until
   * some unrelated release.
   */
  constructor(onHeadLeft: () => void) {
    this.#onHeadLeft = onHeadLeft;
  }

  /** Requests queued now. */
  get length(): number {
    return this.#waiters.length;
  }

  /** Queue a request; `onTimeout` runs when `timeoutMs` passes first (before the rejection). */
  enqueue(size: number, options: AcquireOptions, onTimeout: () => void): Promise<Lease> {
    const { signal, timeoutMs } = options;
    return new Promise<Lease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        size,
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#remove(waiter);
          onTimeout();
          reject(new TimeoutError('acquireAsync', timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Serve waiters in order while `serve` can lease for the one at the head. */
  drain(serve: (size: number) => Lease | null): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0] as Waiter;
      const lease = serve(waiter.size);
      if (lease === null) return;
      this.#waiters.shift();
      waiter.cleanup();
      waiter.resolve(lease);
    }
  }

  /** Reject and remove every waiter. */
  rejectAll(reason: unknown): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(reason);
    }
  }

  #remove(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i !== -1) this.#waiters.splice(i, 1);
    waiter.cleanup();
    if (i === 0 && this.#waiters.length > 0) queueMicrotask(this.#onHeadLeft);
  }
}
