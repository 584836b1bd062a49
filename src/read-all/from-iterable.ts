/**
 * Reading a source's chunks from an iterator into a {@link BlockWriter}. Internal.
 *
 * @module
 */
import { abortRace, raced } from '../abort.js';
import { abandonIterator, toBytes } from '../source/index.js';
import type { BlockWriter } from './block-writer.js';

/**
 * Feed `iterator` (an async iterable's, or a web stream's through `chunksOf`) into `writer`. On
 * failure the iterator is abandoned with the error (a generator's `finally` blocks run, a web
 * stream is cancelled with it); an abort rejects at once, even while `next()` is still pending.
 */
export async function drainIterator(
  iterator: AsyncIterator<unknown>,
  writer: BlockWriter,
  signal: AbortSignal | undefined,
): Promise<void> {
  const abort = abortRace(signal);
  try {
    signal?.throwIfAborted();
    for (;;) {
      const step = await raced(iterator.next(), abort.promise);
      if (step.done) return;
      const pending = writer.write(toBytes(step.value));
      if (pending !== undefined) await raced(pending, abort.promise);
    }
  } catch (err) {
    abandonIterator(iterator, err);
    throw err;
  } finally {
    abort.dispose();
  }
}
