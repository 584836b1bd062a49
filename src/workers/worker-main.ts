/**
 * The entry of a render worker thread: imports the optional `setup` module, reports ready, then
 * runs task handlers and fills the blocks the main thread leased for their outputs.
 *
 * @module
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  type RunMessage,
  type SizedHandler,
  type SizedOutput,
  type SizedResult,
  toWire,
  type WorkerReply,
  type WriteMessage,
} from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('worker-main must run in a worker thread');

/** Outputs of each run waiting for their blocks, by run id; `undefined` for a failed input. */
const pending = new Map<number, (SizedOutput | undefined)[]>();
const handlers = new Map<string, Promise<SizedHandler>>();

function post(reply: WorkerReply): void {
  (port as NonNullable<typeof port>).postMessage(reply);
}

function handler(module: string, name: string): Promise<SizedHandler> {
  const key = `${module}#${name}`;
  let found = handlers.get(key);
  if (found === undefined) {
    found = import(module).then((mod: Record<string, unknown>) => {
      const fn = mod[name];
      if (typeof fn !== 'function') throw new TypeError(`${module} has no function export ${name}`);
      return fn as SizedHandler;
    });
    handlers.set(key, found);
  }
  return found;
}

async function run(message: RunMessage): Promise<void> {
  const outputs: (SizedOutput | undefined)[] = [];
  const results: SizedResult[] = [];
  let fn: SizedHandler | undefined;
  let loadError: unknown;
  try {
    fn = await handler(message.module, message.name);
  } catch (err) {
    loadError = err;
  }
  for (const input of message.inputs) {
    // Fill blocks the main thread leased for earlier runs first: their results wait for it.
    takeWrites();
    try {
      if (fn === undefined) throw loadError;
      const output = await fn(input);
      outputs.push(output);
      results.push({ length: output.length });
    } catch (err) {
      outputs.push(undefined);
      results.push({ error: toWire(err) });
    }
  }
  pending.set(message.id, outputs);
  post({ type: 'sized', id: message.id, results });
}

function write(message: WriteMessage): void {
  const outputs = pending.get(message.id) ?? [];
  let error: unknown;
  for (const target of message.targets) {
    const output = outputs[target.index];
    outputs[target.index] = undefined;
    try {
      output?.write(new Uint8Array(target.memory, target.offset, target.length));
    } catch (err) {
      error ??= err;
    } finally {
      output?.dispose?.();
    }
  }
  if (message.done) {
    pending.delete(message.id);
    for (const output of outputs) output?.dispose?.();
  }
  // No reference to the shared memory is kept: a slab the pool drops must be collectable here too.
  post({ type: 'written', id: message.id, error: error === undefined ? undefined : toWire(error) });
}

/** Runs that arrived while another was running (taken by `takeWrites`), in order. */
const queued: RunMessage[] = [];
let running = false;

async function runAll(first: RunMessage): Promise<void> {
  running = true;
  try {
    let next: RunMessage | undefined = first;
    while (next !== undefined) {
      await run(next);
      next = queued.shift();
    }
  } finally {
    running = false;
  }
}

function accept(message: RunMessage | WriteMessage): void {
  if (message.type === 'write') write(message);
  else if (running) queued.push(message);
  else void runAll(message);
}

/**
 * Take the messages waiting now, synchronously (receiveMessageOnPort): a write is done at once,
 * a run queued behind the current one. A chunk's results then wait one code for their blocks
 * to be filled, not the worker's whole next chunk.
 */
function takeWrites(): void {
  for (;;) {
    const next = receiveMessageOnPort(port as NonNullable<typeof port>) as
      | { message: RunMessage | WriteMessage }
      | undefined;
    if (next === undefined) return;
    accept(next.message);
  }
}

port.on('message', accept);

const { setup } = workerData as { setup: string | undefined };
try {
  if (setup !== undefined) await import(setup);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'start-failed', error: toWire(err) });
}
