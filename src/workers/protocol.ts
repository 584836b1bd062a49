/**
 * Messages between the main thread and a render worker, and errors across the thread boundary.
 * Internal.
 *
 * @module
 */
import { BadInputError, LimitExceededError, type SlabioError, WorkerError } from '../errors.js';

/** An error as it crosses threads: structured clone keeps neither the class nor `code`. */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  code: string | undefined;
  /** Numeric fields slabio's own errors carry (`limit`, `bytesRead`). */
  fields: Record<string, number>;
}

/** Main → worker: run the handler `name` of `module` on each input; reply `sized`. */
export interface RunMessage {
  type: 'run';
  id: number;
  module: string;
  name: string;
  inputs: unknown[];
}

/** One block to fill: the output of input `index` goes to `memory[offset, offset + length)`. */
export interface WriteTarget {
  index: number;
  memory: SharedArrayBuffer;
  offset: number;
  length: number;
}

/** Main → worker: fill these blocks; with `done` drop every output of the run not yet written. */
export interface WriteMessage {
  type: 'write';
  id: number;
  targets: WriteTarget[];
  done: boolean;
}

/** The byte length of one input's output, or why it failed. */
export type SizedResult = { length: number } | { error: WireError };

/** Worker → main. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'start-failed'; error: WireError }
  | { type: 'sized'; id: number; results: SizedResult[] }
  | { type: 'written'; id: number; error: WireError | undefined };

/**
 * What a worker task handler returns for one input: the output's exact length, and how to write
 * it into a block of that length (leased by the main thread once the length is known).
 */
export interface SizedOutput {
  readonly length: number;
  write(target: Uint8Array): void;
  /** Called once the output was written or dropped: give back what it holds. */
  dispose?(): void;
}

/** A worker task handler: a named export of a module, called once per input in a worker. */
export type SizedHandler = (input: unknown) => SizedOutput | Promise<SizedOutput>;

/** @internal Flatten an error for postMessage. */
export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const fields: Record<string, number> = {};
    for (const key of ['limit', 'bytesRead']) {
      const value = (err as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') fields[key] = value;
    }
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      code: typeof code === 'string' ? code : undefined,
      fields,
    };
  }
  return { name: 'Error', message: String(err), stack: undefined, code: undefined, fields: {} };
}

/** @internal The worker's error as a plain `Error` with its name, message, stack and code. */
export function rebuild(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  if (wire.stack !== undefined) err.stack = wire.stack;
  if (wire.code !== undefined) Object.assign(err, { code: wire.code });
  return err;
}

/**
 * @internal The main-thread error for a task's failure: slabio's own input errors keep their class
 * (a bad QR text is a `BadInputError` in a worker too), anything else is a `WorkerError`
 * `'task'` whose `cause` is the worker's error rebuilt with its name, message, stack and code.
 */
export function fromWire(wire: WireError): SlabioError {
  const cause = rebuild(wire);
  if (wire.code === 'ERR_SLABIO_BAD_INPUT') return new BadInputError(wire.message, { cause });
  const { limit, bytesRead } = wire.fields;
  if (wire.code === 'ERR_SLABIO_LIMIT' && limit !== undefined && bytesRead !== undefined) {
    return new LimitExceededError(limit, bytesRead);
  }
  return new WorkerError('task', `the task threw ${wire.name}: ${wire.message}`, { cause });
}
