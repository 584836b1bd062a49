/**
 * Property: whatever the chunking, source kind and failure point, readAll returns exactly the
 * bytes (or the right error) and leaves no lease in use.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import fc from 'fast-check';
import { LengthMismatchError, LimitExceededError, readAll, readAllChunks } from '../src/index.js';
import { KiB } from './helpers.js';
import { newPool } from './read-all-helpers.js';

type Failure =
  | { kind: 'none' }
  | { kind: 'error'; at: number }
  | { kind: 'abort'; at: number }
  | { kind: 'limit'; maxBytes: number }
  | { kind: 'mismatch'; delta: number };

const failureArb: fc.Arbitrary<Failure> = fc.oneof(
  fc.constant<Failure>({ kind: 'none' }),
  fc.record({ kind: fc.constant('error' as const), at: fc.nat(40) }),
  fc.record({ kind: fc.constant('abort' as const), at: fc.nat(40) }),
  fc.record({ kind: fc.constant('limit' as const), maxBytes: fc.nat(200 * KiB) }),
  fc.record({
    kind: fc.constant('mismatch' as const),
    delta: fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0),
  }),
);

const chunkSizesArb = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 16 }),
    fc.integer({ min: 1, max: 8 * KiB }),
    fc.integer({ min: 1, max: 70 * KiB }),
  ),
  { maxLength: 40 },
);

function makeChunks(sizes: number[], seed: number): Buffer[] {
  let x = seed;
  return sizes.map((n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  });
}

function source(
  kind: string,
  chunks: Buffer[],
  failure: Failure,
  controller: AbortController,
): Parameters<typeof readAll>[0] {
  const boom = new Error('boom');
  const at = failure.kind === 'error' || failure.kind === 'abort' ? failure.at : -1;
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i <= chunks.length; i++) {
      if (i === at && failure.kind === 'error') throw boom;
      if (i === at && failure.kind === 'abort') controller.abort();
      const chunk = chunks[i];
      if (chunk !== undefined) yield chunk;
    }
  }
  if (kind === 'iterable') return gen();
  if (kind === 'readable') return Readable.from(gen(), { objectMode: false });
  return ReadableStream.from(gen()) as ReadableStream<Uint8Array>;
}

it('readAll: content equality or the right error, and zero leases in use, for random chunkings and failures', async () => {
  const pool = newPool({ maxBytes: 64 * 1024 * KiB });
  await fc.assert(
    fc.asyncProperty(
      chunkSizesArb,
      failureArb,
      fc.constantFrom('iterable', 'readable', 'web'),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
      async (sizes, failure, kind, declare, chunked, seed) => {
        const chunks = makeChunks(sizes, seed);
        const data = Buffer.concat(chunks);
        const controller = new AbortController();
        const options: Parameters<typeof readAll>[1] = { pool, signal: controller.signal };
        if (declare || failure.kind === 'mismatch') {
          options.lengthHint = Math.max(
            0,
            data.length + (failure.kind === 'mismatch' ? failure.delta : 0),
          );
        }
        if (failure.kind === 'limit') options.maxBytes = failure.maxBytes;
        const expectedLength = options.lengthHint ?? data.length;
        const read = chunked
          ? readAllChunks(source(kind, chunks, failure, controller), options).then((list) => {
              const all = Buffer.concat(list.chunks);
              list.release();
              return all;
            })
          : readAll(source(kind, chunks, failure, controller), options).then((lease) => {
              const all = Buffer.from(lease.buffer);
              lease.release();
              return all;
            });
        const outcome = await read.then(
          (bytes) => ({ ok: true as const, bytes }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        const errorFires = failure.kind === 'error' && failure.at <= chunks.length;
        const abortFires = failure.kind === 'abort' && failure.at <= chunks.length;
        const overLimit =
          failure.kind === 'limit' && Math.max(expectedLength, data.length) > failure.maxBytes;
        const mismatch = options.lengthHint !== undefined && options.lengthHint !== data.length;
        if (outcome.ok) {
          assert.ok(
            !errorFires && !abortFires && !overLimit && !mismatch,
            `should have failed: ${JSON.stringify(failure)}`,
          );
          assert.ok(outcome.bytes.equals(data), 'content equality');
        } else if (abortFires || errorFires) {
          // a limit or mismatch crossed before the failure point wins; otherwise the failure does
          const e = outcome.error as Error;
          assert.ok(
            e.name === 'AbortError' ||
              e.message === 'boom' ||
              e instanceof LimitExceededError ||
              e instanceof LengthMismatchError,
            String(e),
          );
        } else if (overLimit && !(outcome.error instanceof LengthMismatchError)) {
          assert.ok(outcome.error instanceof LimitExceededError, String(outcome.error));
          assert.ok(outcome.error.bytesRead > outcome.error.limit);
        } else {
          assert.ok(
            mismatch && outcome.error instanceof LengthMismatchError,
            String(outcome.error),
          );
        }
        assert.equal(pool.stats().inUseBytes, 0, 'no lease in use');
      },
    ),
    { numRuns: 150 },
  );
});
