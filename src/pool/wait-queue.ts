/**
 * The queue of `acquireAsync` requests that wait for memory. Internal to the pool.
 *
 * @module
 */
import { SlabioTimeoutError } from '../errors.js';
import type { Lease } from './lease.js';

/** Options for {@link BufferPool.acquireAsync}. */
export interface AcquireOptions {
  /** Abort waiting; the promise rejects with `signal.reason` and the waiter is removed. */
  signal?: AbortSignal;
  /**
   * Give up waiting after this many milliseconds with `ERR_SLABIO_TIMEOUT`.
   * @default the pool's `waitTimeoutMs`
   */
  timeoutMs?: number;
}

/**
 * An operation that leases several blocks one after another (a read growing block by block) and
 * may have to wait for the next while it holds the earlier ones. The pool serves such waiters
 * before those that hold nothing, oldest first, and when every byte in use belongs to waiting
 * holders — nobody else can release anything — it fails the youngest so the others can go on.
 * @internal
 */
export interface Holder {
  /** Age: lower is older, from {@link nextTicket}. */
  readonly ticket: number;
  /** Budget bytes of this pool leased by the holder and not yet released. */
  heldBytes(): number;
}

let tickets = 0;

/** @internal A ticket for a new {@link Holder}: every later one is younger. */
export function nextTicket(): number {
  return ++tickets;
}

interface Waiter {
  readonly size: number;
  /** The operation waiting, when it holds pool memory meanwhile. */
  readonly holder: Holder | undefined;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (reason: unknown) => void;
  /** Clear the timer and the abort listener. */
  cleanup(): void;
}

/**
 * Waiters that hold memory first (oldest holder first), then the others in arrival order. An
 * abort or timeout removes its waiter at once.
 */
export class WaitQueue {
  /** Waiters with a holder, ascending by ticket. */
  readonly #holders: Waiter[] = [];
  /** Waiters that hold nothing, in arrival order. */
  readonly #plain: Waiter[] = [];
  readonly #onHeadLeft: () => void;

  /**
   * @param onHeadLeft Called (in a microtask) when the waiter at the head left by abort or
   * timeout: the next one may fit now, and with strict order nothing else would serve it until
   * some unrelated release.
   */
  constructor(onHeadLeft: () => void) {
    this.#onHeadLeft = onHeadLeft;
  }

  /** Requests queued now. */
  get length(): number {
    return this.#holders.length + this.#plain.length;
  }

  /**
   * Queue a request; `onTimeout` runs when `timeoutMs` passes first (before the rejection). A
   * `holder` that holds nothing yet waits like any other request.
   */
  enqueue(
    size: number,
    options: AcquireOptions,
    holder: Holder | undefined,
    onTimeout: () => void,
  ): Promise<Lease> {
    const { signal, timeoutMs } = options;
    return new Promise<Lease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(signal?.reason);
      };
      const holding = holder !== undefined && holder.heldBytes() > 0 ? holder : undefined;
      const waiter: Waiter = {
        size,
        holder: holding,
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => {
          this.#remove(waiter);
          onTimeout();
          reject(new SlabioTimeoutError('acquireAsync', timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (holding === undefined) this.#plain.push(waiter);
      else this.#insertHolder(waiter, holding.ticket);
    });
  }

  /** The size the waiter at the head asks for, or undefined when none waits. */
  headSize(): number | undefined {
    return (this.#holders[0] ?? this.#plain[0])?.size;
  }

  /** Serve waiters in order while `serve` can lease for the one at the head. */
  drain(serve: (size: number) => Lease | null): void {
    for (;;) {
      const queue = this.#holders.length > 0 ? this.#holders : this.#plain;
      const waiter = queue[0];
      if (waiter === undefined) return;
      const lease = serve(waiter.size);
      if (lease === null) return;
      queue.shift();
      waiter.cleanup();
      waiter.resolve(lease);
    }
  }

  /** Budget bytes held by the waiting holders, together (a holder may wait more than once). */
  heldByWaiters(): number {
    let held = 0;
    const counted = new Set<Holder>();
    for (const { holder } of this.#holders) {
      if (counted.has(holder as Holder)) continue;
      counted.add(holder as Holder);
      held += (holder as Holder).heldBytes();
    }
    return held;
  }

  /** Reject the youngest waiting holder with `reason(size)`; false when no holder waits. */
  rejectYoungestHolder(reason: (size: number) => unknown): boolean {
    const waiter = this.#holders.pop();
    if (waiter === undefined) return false;
    waiter.cleanup();
    waiter.reject(reason(waiter.size));
    return true;
  }

  /** Reject and remove every waiter. */
  rejectAll(reason: unknown): void {
    for (const waiter of [...this.#holders.splice(0), ...this.#plain.splice(0)]) {
      waiter.cleanup();
      waiter.reject(reason);
    }
  }

  #insertHolder(waiter: Waiter, ticket: number): void {
    const list = this.#holders;
    let i = list.length;
    while (i > 0 && ((list[i - 1] as Waiter).holder as Holder).ticket > ticket) i--;
    list.splice(i, 0, waiter);
  }

  #remove(waiter: Waiter): void {
    const queue = waiter.holder === undefined ? this.#plain : this.#holders;
    const wasHead = (this.#holders[0] ?? this.#plain[0]) === waiter;
    const i = queue.indexOf(waiter);
    if (i !== -1) queue.splice(i, 1);
    waiter.cleanup();
    if (wasHead && this.length > 0) queueMicrotask(this.#onHeadLeft);
  }
}
