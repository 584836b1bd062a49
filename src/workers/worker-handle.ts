/**
 * One render worker thread as the main thread sees it. Internal.
 *
 * @module
 */
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { WorkerError } from '../errors.js';
import {
  fromWire,
  rebuild,
  type SizedResult,
  type WorkerReply,
  type WriteTarget,
} from './protocol.js';

interface Request {
  resolve(reply: WorkerReply): void;
  reject(err: unknown): void;
}

/** @internal How to start a worker. */
export interface HandleOptions {
  setup: string | undefined;
  resourceLimits: ResourceLimits | undefined;
  startTimeoutMs: number;
  /** Called when a started thread exits without being told to. */
  onDeath?: () => void;
}

const ENTRY = new URL('./worker-main.js', import.meta.url);
/** How long `terminate` waits for the thread's 'exit' event before settling without it. */
const TERMINATE_BOUND_MS = 2000;

/**
 * A worker thread and its requests. It keeps the process alive only while a request is in
 * flight, so an idle pool never holds up exit. When the thread exits, every request in flight
 * rejects with a `WorkerError` — after the thread has stopped, so the blocks it was given may be
 * released then.
 */
export class WorkerHandle {
  readonly #worker: Worker;
  readonly #requests = new Map<number, Request>();
  #nextId = 0;
  #held = 0;
  readonly #onSettled: (() => void)[] = [];
  #death: WorkerError | undefined;
  #closing = false;
  #stopping = false;
  #lastError: unknown;
  readonly #exited: Promise<void>;
  /** Resolves once the worker reported ready; rejects with `WorkerError` `'start'`. */
  readonly ready: Promise<void>;

  constructor(options: HandleOptions) {
    this.#worker = new Worker(ENTRY, {
      workerData: { setup: options.setup },
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    const { onDeath } = options;
    // Referenced while it starts (someone waits for it) and while a request is in flight.
    let started = false;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new WorkerError('start', `not ready after ${options.startTimeoutMs} ms`));
        void this.terminate();
      }, options.startTimeoutMs).unref();
      this.#onReady = (error) => {
        clearTimeout(timer);
        started = true;
        if (this.#requests.size === 0) this.#worker.unref();
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.ready.catch(() => {});
    this.#worker.on('message', (reply: WorkerReply) => this.#onMessage(reply));
    this.#worker.on('error', (err) => {
      this.#lastError = err;
    });
    this.#exited = new Promise<void>((resolve) => {
      const onExit = (exitCode: number): void => {
        if (this.#death !== undefined) return;
        const cause = this.#lastError;
        const options = { exitCode, ...(cause === undefined ? {} : { cause }) };
        const detail = cause instanceof Error ? `: ${cause.message}` : '';
        this.#death = this.#closing
          ? new WorkerError('closed', 'the workers were closed', options)
          : new WorkerError(
              started ? 'exit' : 'start',
              `the thread exited with code ${exitCode}${detail}`,
              options,
            );
        if (!started) this.#onReady(this.#death);
        for (const request of this.#requests.values()) request.reject(this.#death);
        this.#requests.clear();
        for (const settle of this.#onSettled.splice(0)) settle();
        if (started && !this.#stopping) onDeath?.();
        resolve();
      };
      this.#worker.on('exit', onExit);
      this.#forceExit = onExit;
    });
  }

  /** Settles the handle as if the thread had exited (see {@link terminate}). */
  #forceExit: (exitCode: number) => void = () => {};

  #onReady: (error: WorkerError | undefined) => void = () => {};

  /** Whether the thread is running (and not being terminated). */
  get alive(): boolean {
    return this.#death === undefined && !this.#stopping;
  }

  /**
   * Run handler `name` of `module` on `inputs`; resolves with the run's id and one result per
   * input. The outputs stay in the worker until a `write` with `done` for that id.
   */
  async run(
    module: string,
    name: string,
    inputs: unknown[],
  ): Promise<{ id: number; results: SizedResult[] }> {
    const id = this.#nextId++;
    const reply = await this.#request(id, () =>
      this.#worker.postMessage({ type: 'run', id, module, name, inputs }),
    );
    if (reply.type !== 'sized') throw new Error(`unexpected reply ${reply.type}`);
    return { id, results: reply.results };
  }

  /**
   * Count a run whose outputs wait in the worker for their blocks: the thread is not stopped
   * by eviction or retirement until every such run was written ({@link settled}).
   */
  hold(): void {
    this.#held++;
  }

  /** Fill `targets` with outputs of run `id`; with `done` the rest is dropped and the hold ends. */
  async write(id: number, targets: WriteTarget[], done: boolean): Promise<void> {
    try {
      const reply = await this.#request(id, () =>
        this.#worker.postMessage({ type: 'write', id, targets, done }),
      );
      if (reply.type === 'written' && reply.error !== undefined) throw fromWire(reply.error);
    } finally {
      if (done) this.#unhold();
    }
  }

  #unhold(): void {
    this.#held--;
    if (this.#held === 0) for (const resolve of this.#onSettled.splice(0)) resolve();
  }

  /** Resolves when no held run waits for its blocks any more (or the thread has stopped). */
  settled(): Promise<void> {
    if (this.#held === 0 || this.#death !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => this.#onSettled.push(resolve));
  }

  #request(id: number, send: () => void): Promise<WorkerReply> {
    if (this.#death !== undefined) return Promise.reject(this.#death);
    return new Promise<WorkerReply>((resolve, reject) => {
      try {
        send();
      } catch (err) {
        // structured clone refused the input (a function, a symbol): nothing was sent.
        const reason = err instanceof Error ? err.message : String(err);
        reject(
          new TypeError(`the task input cannot be sent to a worker: ${reason}`, { cause: err }),
        );
        return;
      }
      this.#requests.set(id, { resolve, reject });
      if (this.#requests.size === 1) this.#worker.ref();
    });
  }

  #onMessage(reply: WorkerReply): void {
    if (reply.type === 'ready') {
      this.#onReady(undefined);
      return;
    }
    if (reply.type === 'start-failed') {
      this.#onReady(
        new WorkerError('start', `setup failed: ${reply.error.message}`, {
          cause: rebuild(reply.error),
        }),
      );
      void this.terminate();
      return;
    }
    const request = this.#requests.get(reply.id);
    if (request === undefined) return;
    this.#requests.delete(reply.id);
    if (this.#requests.size === 0) this.#worker.unref();
    request.resolve(reply);
  }

  /** Stop the thread; resolves once it has stopped and every request in flight was rejected. */
  terminate(closing = false): Promise<void> {
    if (closing) this.#closing = true;
    this.#stopping = true;
    if (this.#death === undefined) {
      // Someone waits for the exit: keep the loop alive until it comes.
      this.#worker.ref();
      void this.#worker.terminate();
      // Under load a terminated thread's 'exit' event was seen not to come (about 1 run in 10 of
      // the close tests). terminate() has stopped its JavaScript by then, so after a bound the
      // handle settles as exited: nothing waits for an event that may never be emitted.
      const timer = setTimeout(() => this.#forceExit(1), TERMINATE_BOUND_MS);
      void this.#exited.then(() => clearTimeout(timer));
    }
    return this.#exited;
  }

  /** @internal The thread's id, for stats and tests. */
  get threadId(): number {
    return this.#worker.threadId;
  }
}
