/**
 * Running one chunk of inputs on a worker into leases of a shared pool. Internal.
 *
 * @module
 */
import type { BufferPool, Lease } from '../pool/index.js';
import { fromWire, type WriteTarget } from './protocol.js';
import type { RenderWorkers } from './render-workers.js';
import type { WorkerHandle } from './worker-handle.js';

/** A worker task: the module (a URL string) and the export that handles one input. */
export interface TaskRef {
  readonly module: string;
  readonly name: string;
}

/** What {@link runChunk} returns at once. */
export interface Chunk {
  /** One promise per input: its lease, or its error. */
  readonly items: Promise<Lease>[];
  /** Settles when every input of the chunk has its lease (or failed): the next chunk's turn. */
  readonly leased: Promise<void>;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Each item's failure is reported to whoever awaits it; until then it is not unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Reject after the current turn so a result is never observed out of order. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Render `inputs` on one borrowed worker in two steps: the worker computes every output and
 * reports its exact length; then, after `after` (the previous chunk's leasing) and in input
 * order, each output gets a block of `pool` of exactly that length and the worker writes into it
 * directly (shared memory, no copy on the main thread).
 *
 * Progress: an output's block is leased without waiting while possible; before one has to wait,
 * the outputs already leased are written and handed out, so a waiting lease never waits for
 * memory held by an earlier result that cannot be delivered yet. Blocks are released on failure
 * only after the worker has replied or its thread has stopped: a worker never writes into a
 * block the main thread gave back.
 */
export function runChunk(
  workers: RenderWorkers,
  pool: BufferPool,
  task: TaskRef,
  inputs: unknown[],
  signal: AbortSignal | undefined,
  after: Promise<void>,
): Chunk {
  const items = inputs.map(() => deferred<Lease>());
  const leased = deferred<void>();
  const failAll = (from: number, err: unknown): void => {
    for (let i = from; i < items.length; i++) items[i]?.reject(err);
  };
  void (async () => {
    let handle: WorkerHandle;
    try {
      handle = await workers.acquire(signal);
    } catch (err) {
      failAll(0, err);
      await after;
      return leased.resolve();
    }
    let run: Awaited<ReturnType<WorkerHandle['run']>>;
    try {
      run = await abortable(handle.run(task.module, task.name, inputs), signal);
    } catch (err) {
      // Aborted while the worker computes: stop it, nobody will take its outputs. A thread that
      // died is destroyed by release; one that was never sent the input goes back as it is.
      if (signal?.aborted === true) workers.retire(handle);
      else workers.release(handle);
      failAll(0, err);
      await after;
      return leased.resolve();
    }
    // The outputs wait in the worker; it may take the next chunk meanwhile instead of idling
    // while this one's blocks are leased (the main thread may be busy delivering results).
    const { id, results } = run;
    handle.hold();
    workers.release(handle);
    await after;
    let batch: { index: number; lease: Lease }[] = [];
    let dead: unknown;
    const flush = async (done: boolean): Promise<void> => {
      const out = batch;
      batch = [];
      if (dead !== undefined) {
        for (const { index, lease } of out) {
          lease.release();
          items[index]?.reject(dead);
        }
        if (done) await handle.write(id, [], true).catch(() => {}); // ends the hold
        return;
      }
      const targets: WriteTarget[] = out.map(({ index, lease }) => {
        const view = lease.buffer;
        return {
          index,
          memory: view.buffer as SharedArrayBuffer,
          offset: view.byteOffset,
          length: view.length,
        };
      });
      try {
        await handle.write(id, targets, done);
        for (const { index, lease } of out) items[index]?.resolve(lease);
      } catch (err) {
        dead = err;
        // The reply came, or the thread has stopped: the blocks are ours again.
        for (const { index, lease } of out) {
          lease.release();
          items[index]?.reject(err);
        }
      }
    };
    for (let i = 0; i < results.length; i++) {
      const result = results[i] as (typeof results)[number];
      if ('error' in result) {
        items[i]?.reject(fromWire(result.error));
        continue;
      }
      try {
        signal?.throwIfAborted();
        let lease = pool.tryAcquire(result.length);
        if (lease === null) {
          await flush(false);
          lease = await pool.acquireAsync(result.length, signal === undefined ? {} : { signal });
        }
        batch.push({ index: i, lease });
      } catch (err) {
        items[i]?.reject(err);
      }
    }
    leased.resolve();
    await flush(true);
  })().catch((err: unknown) => {
    failAll(0, err);
    leased.resolve();
  });
  return { items: items.map((d) => d.promise), leased: leased.promise };
}
