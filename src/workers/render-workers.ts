/**
 * `RenderWorkers`: worker threads for slabio's CPU-bound rendering, managed by generic-pool.
 *
 * @module
 */
import genericPool from 'generic-pool';
import { ClosedError, SlabioTimeoutError, WorkerError } from '../errors.js';
import { type RenderWorkersOptions, type WorkersSettings, workersSettings } from './options.js';
import { WorkerHandle } from './worker-handle.js';

/**
 * What generic-pool holds: a running worker, or the failure of a start. generic-pool retries a
 * rejected `create` at once and forever while anyone waits, and never rejects their `acquire`
 * (coopernurse/node-pool#175). So `create` never rejects: a failed start resolves to this
 * marker, generic-pool hands it to the waiting caller like any resource, and `acquire` destroys
 * it and rejects with the start's error. One start per waiting caller, each settles.
 */
class StartFailure {
  readonly error: WorkerError;
  constructor(error: WorkerError) {
    this.error = error;
  }
}

type Resource = WorkerHandle | StartFailure;

/** Counts for tests and metrics. */
export interface RenderWorkersStats {
  /** Threads running or starting. */
  size: number;
  /** Threads idle in the pool. */
  available: number;
  /** Callers waiting for a thread. */
  pending: number;
  /** Threads started successfully so far. */
  started: number;
  /** Starts that failed so far. */
  startFailures: number;
  /** Threads that exited with work in flight, or were found dead. */
  deaths: number;
}

/**
 * A bounded set of worker threads that render QR codes (`qrBatch(items, { workers })`,
 * `renderQrInWorkers`) and PDFs (`renderPdfInWorker`) off the main thread, into blocks of a
 * `shared` `BufferPool`. Threads start on demand up to `max`, are checked before use, stop after
 * `idleTimeoutMs` idle, and a thread that dies is replaced. Call `close()` when done (an idle
 * set does not keep the process alive, but its threads hold memory until they are stopped).
 *
 * @throws {TypeError|RangeError} for bad options, naming the option and the value.
 * @example
 * ```ts
 * import { BufferPool, RenderWorkers } from 'slabio';
 * import { qrBatch } from 'slabio/qrcode';
 * const pool = new BufferPool({ shared: true });
 * const workers = new RenderWorkers({ max: 2 });
 * for await (const { lease } of qrBatch(items, { workers, pool })) lease.release();
 * await workers.close();
 * ```
 */
export class RenderWorkers {
  readonly #settings: WorkersSettings;
  readonly #pool: genericPool.Pool<Resource>;
  readonly #handles = new Set<WorkerHandle>();
  #closed: Promise<void> | undefined;
  #started = 0;
  #startFailures = 0;
  #deaths = 0;

  constructor(options: RenderWorkersOptions = {}) {
    const s = workersSettings(options);
    this.#settings = s;
    this.#pool = genericPool.createPool<Resource>(
      {
        create: () => this.#create(),
        destroy: async (resource) => {
          if (resource instanceof WorkerHandle) {
            // An idle thread may still hold outputs waiting for their blocks: stop it after.
            if (this.#closed === undefined) await resource.settled();
            this.#handles.delete(resource);
            await resource.terminate(this.#closed !== undefined);
          }
        },
        validate: async (resource) => resource instanceof StartFailure || resource.alive,
      },
      {
        max: s.max,
        min: s.min,
        testOnBorrow: true,
        acquireTimeoutMillis: s.acquireTimeoutMs,
        idleTimeoutMillis: s.idleTimeoutMs === 0 ? Number.MAX_SAFE_INTEGER : s.idleTimeoutMs,
        evictionRunIntervalMillis: s.idleTimeoutMs === 0 ? 0 : Math.max(100, s.idleTimeoutMs / 4),
        // A failed start sits as a StartFailure marker; never keep one for a later caller.
        autostart: s.min > 0,
      },
    );
  }

  async #create(): Promise<Resource> {
    if (this.#closed !== undefined) return new StartFailure(this.#closedError());
    const { setup, resourceLimits, startTimeoutMs } = this.#settings;
    let handle: WorkerHandle;
    try {
      handle = new WorkerHandle({
        setup,
        resourceLimits,
        startTimeoutMs,
        onDeath: () => {
          this.#deaths++;
        },
      });
    } catch (err) {
      this.#startFailures++;
      return new StartFailure(
        new WorkerError('start', 'the thread could not be created', { cause: err }),
      );
    }
    try {
      await handle.ready;
    } catch (err) {
      this.#startFailures++;
      await handle.terminate();
      return new StartFailure(err as WorkerError);
    }
    this.#started++;
    this.#handles.add(handle);
    if (this.#closed !== undefined) void handle.terminate(true);
    return handle;
  }

  #closedError(): WorkerError {
    return new WorkerError('closed', 'the workers were closed', {
      cause: new ClosedError('render workers'),
    });
  }

  /**
   * @internal Borrow a running thread; give it back with {@link release} or {@link destroy}.
   * @throws {WorkerError} `'start'` when the thread that would serve this could not start,
   * `'closed'` after `close()`.
   * @throws {SlabioTimeoutError} `ERR_SLABIO_TIMEOUT` after `acquireTimeoutMs`.
   * @throws `signal.reason` on abort.
   */
  acquire(signal?: AbortSignal): Promise<WorkerHandle> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed !== undefined) return Promise.reject(this.#closedError());
    return new Promise<WorkerHandle>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        settled = true;
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pool.acquire().then(
        (resource) => {
          signal?.removeEventListener('abort', onAbort);
          if (resource instanceof StartFailure) {
            void this.#pool.destroy(resource);
            if (!settled) reject(resource.error);
          } else if (settled || this.#closed !== undefined) {
            // Aborted meanwhile (or closing): the thread goes straight back.
            this.release(resource);
            if (!settled) reject(this.#closedError());
          } else resolve(resource);
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          if (this.#closed !== undefined) reject(this.#closedError());
          else if ((err as Error | null)?.name === 'TimeoutError') {
            reject(
              new SlabioTimeoutError(
                'waiting for a render worker',
                this.#settings.acquireTimeoutMs,
              ),
            );
          } else reject(err);
        },
      );
    });
  }

  /** @internal Return a borrowed thread; a dead one is destroyed (and replaced on demand). */
  release(handle: WorkerHandle): void {
    if (handle.alive && this.#closed === undefined) void this.#pool.release(handle);
    else void this.#pool.destroy(handle).catch(() => {});
  }

  /**
   * @internal Stop a borrowed thread whose task was abandoned mid-run (an abort): once the
   * outputs of earlier runs it holds were written, since other callers wait for those.
   */
  retire(handle: WorkerHandle): void {
    void handle.settled().then(() => this.#pool.destroy(handle).catch(() => {}));
  }

  /** The most threads this set runs at once (the `max` option). */
  get max(): number {
    return this.#settings.max;
  }

  /** Counts of threads and waiters. */
  stats(): RenderWorkersStats {
    return {
      size: this.#pool.size,
      available: this.#pool.available,
      pending: this.#pool.pending,
      started: this.#started,
      startFailures: this.#startFailures,
      deaths: this.#deaths,
    };
  }

  /**
   * Stop every thread. Tasks in flight fail with `WorkerError` `'closed'` (their leases are
   * released once the threads have stopped), later calls reject the same way. Resolves when
   * every thread has stopped; calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    await Promise.resolve(); // #closed is set before the threads are told
    await Promise.all([...this.#handles].map((handle) => handle.terminate(true)));
    await this.#pool.drain();
    await this.#pool.clear();
  }

  /** `close()`, for `await using workers = new RenderWorkers()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
