/**
 * Small helpers shared by the readers: chunk conversion, copying, abort races. Internal.
 *
 * @module
 */

/**
 * The bytes of a chunk a source produced. Strings (a stream with `setEncoding`, an object-mode
 * stream of text) are encoded as UTF-8; anything else is a programming error upstream.
 * @throws {TypeError} for a chunk that is neither bytes nor a string.
 */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  const kind =
    chunk === null ? 'null' : typeof chunk === 'object' ? chunk.constructor?.name : typeof chunk;
  throw new TypeError(`source produced a chunk that is not bytes or a string: ${String(kind)}`);
}

/** Copy `source[from, to)` into `target` at `at`. Buffers take the memcpy path without a view. */
export function copyBytes(
  source: Uint8Array,
  target: Buffer,
  at: number,
  from: number,
  to: number,
): void {
  if (Buffer.isBuffer(source)) source.copy(target, at, from, to);
  else target.set(from === 0 && to === source.length ? source : source.subarray(from, to), at);
}

/** Check an optional `signal` option. @throws {TypeError} when it is not an AbortSignal. */
export function checkSignal(signal: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${name} must be an AbortSignal, got ${typeof signal}`);
  }
  return signal;
}

/**
 * A promise that rejects with `signal.reason` when the signal aborts, plus the function that stops
 * listening. Used to stop waiting on something that cannot itself be cancelled (a pending
 * `iterator.next()`), so an abort is reported at once rather than when the source next yields.
 */
export function abortRace(signal: AbortSignal | undefined): {
  promise: Promise<never> | undefined;
  dispose(): void;
} {
  if (signal === undefined) return { promise: undefined, dispose: () => {} };
  let onAbort = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // The race may be lost by every awaited promise; the rejection is then nobody's business.
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** `await p`, or reject as soon as `abort` does. */
export function raced<T>(p: Promise<T>, abort: Promise<never> | undefined): Promise<T> {
  return abort === undefined ? p : Promise.race([p, abort]);
}
