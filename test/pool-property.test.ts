import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BufferPool, type Lease, PoolExhaustedError } from '../src/index.js';
import { KiB } from './helpers.js';

type Op = { kind: 'acquire'; size: number } | { kind: 'release'; pick: number } | { kind: 'trim' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .integer({ min: 0, max: 400 * KiB })
      .map((size) => ({ kind: 'acquire' as const, size })),
  },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: 'release' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'trim' as const }) },
);

/** Byte range of a lease's block inside its ArrayBuffer. */
function range(lease: Lease): { ab: ArrayBufferLike; start: number; end: number } {
  const b = lease.buffer;
  return {
    ab: b.buffer,
    start: b.byteOffset,
    end: b.byteOffset + Math.max(lease.capacity, b.length),
  };
}

describe('BufferPool invariants (fast-check)', () => {
  it('no overlap, balanced accounting, budget respected, everything returns', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 200 }),
        fc.constantFrom(1, 256 * KiB, 1024 * KiB),
        fc.boolean(),
        (ops, slabBytes, debug) => {
          const maxBytes = 2 * 1024 * KiB;
          const pool = new BufferPool({
            sizeClasses: [100 * KiB, 200 * KiB, 300 * KiB],
            maxBytes,
            slabBytes,
            onExhausted: 'throw',
            idleTrimMs: 0,
            debug,
          });
          const live: Lease[] = [];
          const tags = new Map<Lease, number>();
          let tag = 1;
          for (const o of ops) {
            if (o.kind === 'acquire') {
              try {
                const lease = pool.acquire(o.size);
                assert.equal(lease.buffer.length, o.size);
                // A distinct tag per lease: if two leases aliased, one tag would be overwritten.
                tags.set(lease, tag);
                lease.buffer.fill(tag);
                tag = (tag + 1) & 0xff;
                live.push(lease);
              } catch (err) {
                assert.ok(err instanceof PoolExhaustedError);
              }
            } else if (o.kind === 'release' && live.length > 0) {
              live.splice(o.pick % live.length, 1)[0]?.release();
            } else if (o.kind === 'trim') {
              pool.trim();
            }
            const stats = pool.stats();
            assert.ok(stats.reservedBytes <= maxBytes, 'reserved within budget');
            const expectInUse = live.reduce((sum, l) => sum + l.capacity, 0);
            assert.equal(stats.inUseBytes, expectInUse, 'in-use bytes balance');
            const classBytes = stats.classes.reduce((sum, c) => sum + c.reservedBytes, 0);
            assert.equal(
              stats.reservedBytes,
              classBytes + stats.oversizeBytes,
              'reserved balances',
            );
          }
          // No two live leases share memory.
          const ranges = live.filter((l) => l.capacity > 0).map(range);
          for (let i = 0; i < ranges.length; i++) {
            for (let j = i + 1; j < ranges.length; j++) {
              const a = ranges[i];
              const b = ranges[j];
              if (a === undefined || b === undefined || a.ab !== b.ab) continue;
              assert.ok(a.end <= b.start || b.end <= a.start, 'leases overlap');
            }
          }
          for (const lease of live) {
            const expected = tags.get(lease) ?? -1;
            assert.ok(
              lease.buffer.every((byte) => byte === expected),
              'a lease was overwritten',
            );
            lease.release();
          }
          const end = pool.stats();
          assert.equal(end.inUseBytes, 0);
          assert.equal(end.oversizeBytes, 0);
          const blocks = end.classes.reduce((s, c) => s + c.freeBlocks * c.size, 0);
          assert.equal(blocks, end.reservedBytes, 'every reserved byte is a free block again');
          pool.trim();
          assert.equal(pool.stats().reservedBytes, 0);
          pool.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});
