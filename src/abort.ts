/**
 * Racing something that cannot itself be cancelled against an `AbortSignal`. Shared by the
 * readers (read-all, source), the stream helpers and the no-cache writers (fs). Internal.
 *
 * @module
 */

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
