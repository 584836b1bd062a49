/**
 * Watching a Readable for its end without waiting for 'close'. Internal.
 *
 * @module
 */
import type { Readable } from 'node:stream';

/** The error Node's own `finished()` reports for a stream closed before 'end'. */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** Whether `err` is what {@link onEnd} (or Node's `finished()`) reports for a close before 'end'. */
export function isPrematureClose(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function noop(): void {}

const absorbing = new WeakSet<object>();

/**
 * Give `stream` an 'error' listener that stays until its 'close', from the moment slabio takes it
 * to read. slabio reports a stream's error itself (from its own listener or `stream.errored`), but
 * Node emits 'error' a tick after `destroy(err)` or whenever a `_destroy` calls back, so with
 * listeners attached only while reading, an error emitted before reading starts (the caller
 * destroyed it in the same tick, an await before the first read) or after reading stopped (the
 * rejection settled first, `stopStream` destroyed it and its `_destroy` failed) would find none
 * and crash the process. The caller's own listeners still see every error. Idempotent.
 */
export function absorbErrors(stream: Readable): void {
  if (absorbing.has(stream) || typeof stream.on !== 'function') return;
  absorbing.add(stream);
  const onClose = (): void => {
    stream.removeListener('error', noop);
    stream.removeListener('close', onClose);
    absorbing.delete(stream);
  };
  stream.on('error', noop);
  stream.on('close', onClose);
}

/**
 * Call `done()` on 'end', `done(err)` on 'error' or on 'close' before 'end'; returns a function
 * that stops listening. Unlike `stream.finished()`, 'end' is enough: an `fs.ReadStream` emits
 * 'close' only after closing its descriptor on the thread pool, one more round trip per read
 * that nobody reading the bytes needs to wait for. Stopping removes only these listeners: the
 * stream keeps the one of {@link absorbErrors} until its 'close'.
 */
export function onEnd(stream: Readable, done: (err?: unknown) => void): () => void {
  let called = false;
  const once = (err?: unknown): void => {
    if (called) return;
    called = true;
    done(err);
  };
  const onEndEvent = (): void => once();
  const onError = (err: unknown): void => once(err);
  const onClose = (): void => {
    if (!stream.readableEnded) once(stream.errored ?? prematureClose());
  };
  absorbErrors(stream);
  stream.on('end', onEndEvent);
  stream.on('error', onError);
  stream.on('close', onClose);
  // A stream that already finished emits nothing more.
  if (stream.errored) queueMicrotask(() => once(stream.errored));
  else if (stream.readableEnded) queueMicrotask(() => once());
  else if (stream.destroyed) queueMicrotask(() => once(prematureClose()));
  return () => {
    stream.removeListener('end', onEndEvent);
    stream.removeListener('error', onError);
    stream.removeListener('close', onClose);
  };
}
