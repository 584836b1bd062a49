/**
 * QR codes rendered on `RenderWorkers`: `renderQrInWorkers`, and the dispatcher `qrBatch` uses
 * with `workers`.
 *
 * @module
 */
import type { BufferPool, Lease } from '../../pool/index.js';
import { checkSignal, checkString } from '../../validate.js';
import { checkWorkers } from '../../workers/check.js';
import type { RenderWorkers } from '../../workers/render-workers.js';
import { runChunk, type TaskRef } from '../../workers/sized-run.js';
import { type RenderQrOptions, type RenderSettings, renderSettings } from './options.js';
import type { QrTaskInput } from './worker-task.js';

const TASK: TaskRef = {
  module: new URL('./worker-task.js', import.meta.url).href,
  name: 'renderQrSized',
};

function taskInput(text: unknown, s: RenderSettings, name: string): QrTaskInput {
  checkString(name, text, true);
  return {
    text,
    format: s.format,
    scale: s.scale,
    margin: s.margin,
    errorCorrectionLevel: s.errorCorrectionLevel,
  };
}

/**
 * Groups codes into chunks, one message to a worker per chunk (a message costs tens of µs of
 * main-thread time, a code about as much to render), and leases their blocks chunk after chunk
 * in input order. @internal
 */
export class QrDispatcher {
  readonly #workers: RenderWorkers;
  readonly #pool: BufferPool;
  readonly #settings: RenderSettings;
  readonly #chunkSize: number;
  readonly #signal: AbortSignal | undefined;
  #inputs: QrTaskInput[] = [];
  #waiting: { resolve(lease: Promise<Lease>): void }[] = [];
  #turn: Promise<void> = Promise.resolve();

  constructor(
    workers: RenderWorkers,
    settings: RenderSettings,
    chunkSize: number,
    signal: AbortSignal | undefined,
  ) {
    this.#workers = workers;
    this.#pool = settings.pool;
    this.#settings = settings;
    this.#chunkSize = chunkSize;
    this.#signal = signal;
  }

  /** Queue one code; the lease comes once its chunk ran. @throws {TypeError} for a non-string. */
  add(text: unknown, name: string): Promise<Lease> {
    const input = taskInput(text, this.#settings, name);
    const lease = new Promise<Promise<Lease>>((resolve) => {
      this.#waiting.push({ resolve });
    }).then((p) => p);
    this.#inputs.push(input);
    if (this.#inputs.length >= this.#chunkSize) this.flush();
    return lease;
  }

  /** Codes queued and not yet sent. */
  get queued(): number {
    return this.#inputs.length;
  }

  /** Send the codes queued so far. */
  flush(): void {
    if (this.#inputs.length === 0) return;
    const inputs = this.#inputs;
    const waiting = this.#waiting;
    this.#inputs = [];
    this.#waiting = [];
    const chunk = runChunk(this.#workers, this.#pool, TASK, inputs, this.#signal, this.#turn);
    this.#turn = chunk.leased;
    waiting.forEach((w, i) => {
      w.resolve(chunk.items[i] as Promise<Lease>);
    });
  }
}

/** Options of {@link renderQrInWorkers}. */
export interface RenderQrInWorkersOptions extends RenderQrOptions {
  /** The threads to render on. */
  workers: RenderWorkers;
  /** A pool created with `{ shared: true }`: the worker writes the PNG into its block. */
  pool: BufferPool;
  /** Abort: rejects with `signal.reason`; no lease is left in use. */
  signal?: AbortSignal | undefined;
}

/**
 * {@link renderQr} on a worker thread: the same bytes, in a lease of the shared `pool`, while the
 * main thread stays free. One code costs a round trip to a worker (tens of µs); for many codes
 * `qrBatch(items, { workers, pool })` sends them in chunks.
 *
 * @throws {TypeError} when `text` is not a string, an option is wrong, or `pool` is not shared.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` when the text cannot be encoded.
 * @throws {WorkerError} `ERR_SLABIO_WORKER` when no worker could start or it died.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` from a pool that cannot wait.
 * @example
 * ```ts
 * const lease = await renderQrInWorkers('https://example.com/t/42', { workers, pool });
 * ```
 */
export async function renderQrInWorkers(
  text: string,
  options: RenderQrInWorkersOptions,
): Promise<Lease> {
  const s = renderSettings(options);
  checkWorkers(options.workers, s.pool);
  const signal = checkSignal(options.signal);
  signal?.throwIfAborted();
  const input = taskInput(text, s, 'text');
  const chunk = runChunk(options.workers, s.pool, TASK, [input], signal, Promise.resolve());
  return chunk.items[0] as Promise<Lease>;
}
