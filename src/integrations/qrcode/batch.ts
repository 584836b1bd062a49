/**
 * `qrBatch`: many QR codes, in input order, a bounded number in flight.
 *
 * @module
 */
import { setMaxListeners } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileNoCache } from '../../fs/index.js';
import type { Lease } from '../../pool/index.js';
import { iteratorOf } from '../../source/index.js';
import { type BatchSettings, batchSettings, type QrBatchOptions } from './options.js';
import { renderQrAsync } from './render.js';
import { QrDispatcher } from './worker-render.js';

/** One code to render. */
export interface QrBatchItem<Id = string> {
  /** Your key for the code; with `outDir` it names the file, so a string or number without `/`. */
  id: Id;
  /** The text to encode. */
  text: string;
}

/** A rendered code held in a lease: release it (or pass it to `writeFileNoCache`). */
export interface QrLeaseResult<Id = string> {
  /** The item's `id`. */
  id: Id;
  /** Exactly the PNG (or SVG) bytes; yours to release. */
  lease: Lease;
}

/** A rendered code written to `path` (the lease is already released). */
export interface QrFileResult<Id = string> {
  /** The item's `id`. */
  id: Id;
  /** `<outDir>/<id>.<format>`, complete and closed. */
  path: string;
}

/** What {@link qrBatch} yields: a lease, or a path with `outDir`. */
export type QrBatchResult<Id = string> = QrLeaseResult<Id> | QrFileResult<Id>;

type Result<Id> = QrBatchResult<Id>;

interface Task<Id> {
  readonly promise: Promise<Result<Id>>;
}

const noop = (): void => {};

// File names come from item ids: refuse anything that is not one plain path component.
const UNSAFE_NAME = /[/\\\0]/;
const MAX_NAME = 200;

function fileName(id: unknown, index: number, format: string): string {
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new TypeError(
      `items[${index}].id must be a string or number with outDir, got ${typeof id}`,
    );
  }
  const name = String(id);
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    UNSAFE_NAME.test(name) ||
    name.length > MAX_NAME
  ) {
    throw new RangeError(
      `items[${index}].id must be a file name (no '/', '\\\\' or NUL, not '.' or '..', 1 to ${MAX_NAME} characters) with outDir, got ${JSON.stringify(name)}`,
    );
  }
  return `${name}.${format}`;
}

function itemOf<Id>(item: unknown, index: number): QrBatchItem<Id> {
  if (item === null || typeof item !== 'object') {
    throw new TypeError(`items[${index}] must be an object { id, text }, got ${String(item)}`);
  }
  return item as QrBatchItem<Id>;
}

/** Hand a rendered code over: as its lease, or written to `path` (which releases the lease). */
async function deliver<Id>(
  item: QrBatchItem<Id>,
  lease: Lease,
  s: BatchSettings,
  signal: AbortSignal,
  path: string | undefined,
): Promise<Result<Id>> {
  if (path === undefined) {
    if (signal.aborted) {
      lease.release();
      throw signal.reason;
    }
    return { id: item.id, lease };
  }
  // writeFileNoCache releases the lease and removes its partial file on failure or abort.
  await writeFileNoCache(path, lease, { ...s.write, signal });
  return { id: item.id, path };
}

/** Undo a result nobody will consume: give the lease back, remove the file. */
async function discard<Id>(task: Task<Id>): Promise<void> {
  let result: Result<Id>;
  try {
    result = await task.promise;
  } catch {
    return; // a failed task already cleaned up after itself
  }
  if ('lease' in result) result.lease.release();
  else await rm(result.path, { force: true });
}

async function* run<Id>(
  iterator: AsyncIterator<QrBatchItem<Id>> | Iterator<QrBatchItem<Id>>,
  s: BatchSettings,
): AsyncGenerator<Result<Id>, void, undefined> {
  // One internal controller stops the in-flight tasks both on the user's abort and when the
  // consumer stops early, so their acquireAsync waits and file writes end promptly.
  const controller = new AbortController();
  // Every chunk on a worker and every wait for memory listens to it: up to `concurrency` at once.
  setMaxListeners(2 * s.concurrency + 10, controller.signal);
  const onAbort = (): void => controller.abort(s.signal?.reason);
  s.signal?.addEventListener('abort', onAbort, { once: true });
  if (s.signal?.aborted) onAbort();
  const inFlight: Task<Id>[] = [];
  const dispatcher =
    s.workers === undefined
      ? undefined
      : new QrDispatcher(s.workers, s, s.chunkSize, controller.signal);
  const seen = new Set<string>();
  let turn: Promise<void> = Promise.resolve();
  let index = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inFlight.length < s.concurrency) {
        controller.signal.throwIfAborted();
        let step: IteratorResult<QrBatchItem<Id>>;
        try {
          step = await iterator.next();
        } catch (err) {
          exhausted = true; // a source that threw is finished: no return() call
          throw err;
        }
        if (step.done === true) exhausted = true;
        else inFlight.push(start(step.value, index++));
      }
      // A chunk not yet full waits to fill up, unless the head is in it (queued items are the
      // newest in flight): sending one code per freed slot would cost a message per code.
      if (dispatcher !== undefined && dispatcher.queued >= inFlight.length) dispatcher.flush();
      const head = inFlight.shift();
      if (head === undefined) return;
      const result = await head.promise;
      yield result;
    }
  } finally {
    s.signal?.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted) controller.abort(new Error('qrBatch iteration ended'));
    // Codes still queued for a chunk go out under the aborted signal, so they settle at once.
    dispatcher?.flush();
    await Promise.all(inFlight.splice(0).map(discard));
    if (!exhausted) await iterator.return?.();
  }

  /** Check an item; with `outDir`, its file's path (unique within the batch). */
  function prepare(raw: unknown, i: number): { item: QrBatchItem<Id>; path: string | undefined } {
    const item = itemOf<Id>(raw, i);
    let path: string | undefined;
    if (s.outDir !== undefined) {
      const name = fileName(item.id, i, s.format);
      if (seen.has(name)) {
        throw new RangeError(`items[${i}].id ${JSON.stringify(String(item.id))} is a duplicate`);
      }
      seen.add(name);
      path = join(s.outDir, name);
    }
    return { item, path };
  }

  function start(raw: unknown, i: number): Task<Id> {
    if (dispatcher !== undefined) return startInWorker(dispatcher, raw, i);
    // Codes are rendered, and so lease their memory, one after another in input order. A code
    // then never waits for memory that a later code holds (results wait to be yielded in order),
    // so a batch on a budget smaller than `concurrency` codes goes on instead of waiting for
    // itself; rendering is synchronous CPU work, so this costs no overlap (file writes still do).
    const rendered = turn.then(async () => {
      const { item, path } = prepare(raw, i);
      controller.signal.throwIfAborted();
      const lease = await renderQrAsync(item.text, s, controller.signal, `items[${i}].text`);
      return { item, path, lease };
    });
    turn = rendered.then(noop, noop);
    const promise = rendered.then(({ item, path, lease }) =>
      deliver(item, lease, s, controller.signal, path),
    );
    // Failures are reported when the task reaches the head of the queue; until then this keeps
    // Node from calling them unhandled.
    promise.catch(() => {});
    return { promise };
  }

  function startInWorker(d: QrDispatcher, raw: unknown, i: number): Task<Id> {
    // Codes are queued in input order and their blocks leased chunk by chunk in that order
    // (see runChunk), which keeps the progress guarantee of the main-thread path.
    const rendered = (async () => {
      const { item, path } = prepare(raw, i);
      const lease = await d.add(item.text, `items[${i}].text`);
      return { item, path, lease };
    })();
    const promise = rendered.then(({ item, path, lease }) =>
      deliver(item, lease, s, controller.signal, path),
    );
    promise.catch(() => {});
    return { promise };
  }
}

/**
 * Render many QR codes. Yields `{ id, lease }` (or `{ id, path }` with `outDir`) **in input
 * order**, with up to `concurrency` codes rendered ahead or being written. Every yielded lease is
 * yours to release.
 *
 * Stopping early (`break`, `return`, a throw in the loop body), an error or an abort releases every
 * lease not yet yielded, stops and removes in-flight file writes, removes files written for codes
 * not yet yielded, and calls `return()` on `items`: the files in `outDir` are exactly the ones
 * yielded. An item's error (bad text, too long, bad id) is thrown when its turn comes, after the
 * codes before it were yielded.
 *
 * @default options `{ concurrency: 8, format: 'png', scale: 4, margin: 4, errorCorrectionLevel: 'M' }`
 * @throws {TypeError|RangeError} synchronously for bad options (naming the option and value); from
 * the iterator for a bad item (`items[i].text`, `items[i].id`), or a duplicate id with `outDir`.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` (from the iterator) for text that cannot be
 * encoded; the qrcode error is the `cause`.
 * @throws the `signal.reason` (from the iterator) on abort.
 * @example
 * ```ts
 * import { qrBatch } from 'slabio/qrcode';
 * const tickets = [{ id: 't-1', text: 'https://example.com/t/1' }];
 * for await (const { id, path } of qrBatch(tickets, { outDir: '/srv/qr', scale: 6 })) {
 *   console.log(id, path);
 * }
 * ```
 */
export function qrBatch<Id = string>(
  items: Iterable<QrBatchItem<Id>> | AsyncIterable<QrBatchItem<Id>>,
  options: QrBatchOptions & { outDir: string },
): AsyncGenerator<QrFileResult<Id>, void, undefined>;
export function qrBatch<Id = string>(
  items: Iterable<QrBatchItem<Id>> | AsyncIterable<QrBatchItem<Id>>,
  options?: QrBatchOptions & { outDir?: undefined },
): AsyncGenerator<QrLeaseResult<Id>, void, undefined>;
export function qrBatch<Id = string>(
  items: Iterable<QrBatchItem<Id>> | AsyncIterable<QrBatchItem<Id>>,
  options?: QrBatchOptions,
): AsyncGenerator<QrBatchResult<Id>, void, undefined>;
export function qrBatch<Id = string>(
  items: Iterable<QrBatchItem<Id>> | AsyncIterable<QrBatchItem<Id>>,
  options: QrBatchOptions = {},
): AsyncGenerator<QrBatchResult<Id>, void, undefined> {
  const s = batchSettings(options);
  return run(iteratorOf(items, 'items'), s);
}
