// The soak's own arithmetic and parsing, without running a soak (CI runs `npm run soak -- --quick`
// once by itself): percentiles, the least-squares trend, the per-kind summary, which requests a
// drain dropped, the pool figures and the command line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSoakArgs } from '../soak/options.js';
import {
  buildResults,
  FD_ALLOWANCE,
  leasesOf,
  type PoolSnapshot,
  poolFromCloseLine,
  type RunRecord,
  trendWindow,
} from '../soak/results.js';
import {
  attribute,
  droppedAtDrains,
  leastSquaresSlope,
  percentile,
  summarize,
  trendPerMinute,
} from '../soak/stats.js';
import { type Instance, parseEventLoop } from '../soak/supervisor.js';
import type { Outcome } from '../soak/types.js';

describe('percentile (nearest rank)', () => {
  it('picks measured values: p50, p99 and p100 of 1..100', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile(xs, 0), 1);
  });

  it('handles one value, ties and small sets', () => {
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([3, 3, 3], 50), 3);
    // p99 of 10 values is the largest: 99% of 10 is 9.9, rounded up to rank 10.
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
  });

  it('is NaN for no values and refuses p outside 0..100', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], -1), RangeError);
    assert.throws(() => percentile([1], Number.NaN), RangeError);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    assert.deepEqual(xs, [3, 1, 2]);
  });

  it('property: the result is a member, at least p% are at or below it, fewer below it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 100 }),
        (xs, p) => {
          const v = percentile(xs, p);
          assert.ok(xs.includes(v));
          const atOrBelow = xs.filter((x) => x <= v).length;
          const below = xs.filter((x) => x < v).length;
          assert.ok(atOrBelow >= (p / 100) * xs.length);
          assert.ok(below < (p / 100) * xs.length);
        },
      ),
    );
  });
});

describe('leastSquaresSlope and trendPerMinute', () => {
  it('recovers the slope of a line, and nearly so under a ±5 zigzag', () => {
    const line = Array.from({ length: 50 }, (_, i) => ({ x: i, y: 3 * i + 10 }));
    assert.ok(Math.abs(leastSquaresSlope(line) - 3) < 1e-9);
    const zigzag = line.map((p, i) => ({ x: p.x, y: p.y + (i % 2 === 0 ? 5 : -5) }));
    // The zigzag's covariance with x is -125 against Σ(x - x̄)² = 10412.5: a bias of -0.012.
    assert.ok(Math.abs(leastSquaresSlope(zigzag) - (3 - 125 / 10412.5)) < 1e-9);
  });

  it('is 0 for a flat series and NaN when it cannot be computed', () => {
    assert.equal(
      leastSquaresSlope([
        { x: 0, y: 5 },
        { x: 1, y: 5 },
        { x: 2, y: 5 },
      ]),
      0,
    );
    assert.ok(Number.isNaN(leastSquaresSlope([])));
    assert.ok(Number.isNaN(leastSquaresSlope([{ x: 1, y: 1 }])));
    assert.ok(
      Number.isNaN(
        leastSquaresSlope([
          { x: 1, y: 1 },
          { x: 1, y: 9 },
        ]),
      ),
    );
  });

  it('reports bytes per minute over the window only', () => {
    // 1 MiB per second for t in [0, 30 s], flat afterwards: the window [30 s, 60 s] is flat.
    const samples = Array.from({ length: 61 }, (_, s) => ({
      t: s * 1000,
      bytes: Math.min(s, 30) * 1048576,
    }));
    assert.ok(Math.abs(trendPerMinute(samples, 0, 30_000) - 60 * 1048576) < 1);
    assert.equal(trendPerMinute(samples, 30_000, 60_000), 0);
    assert.ok(Number.isNaN(trendPerMinute(samples, 100_000, 200_000)));
  });
});

let lastId = 0;
/** An outcome: a 200 response unless `o` says otherwise (failures have no status). */
const out = (o: Partial<Outcome>): Outcome => ({
  id: ++lastId,
  kind: 'upload',
  instance: 1,
  startMs: 0,
  endMs: 10,
  outcome: 'response',
  ...(o.outcome === undefined || o.outcome === 'response' ? { status: 200 } : {}),
  ...o,
});

describe('summarize', () => {
  it('counts statuses and failures, and takes latencies from full responses only', () => {
    const s = summarize([
      out({ endMs: 100 }),
      out({ endMs: 300, status: 413 }),
      out({ endMs: 200 }),
      out({ outcome: 'conn-error', error: 'ECONNRESET', endMs: 9000 }),
      out({ outcome: 'client-reset', endMs: 5 }),
    ]);
    assert.equal(s.requests, 5);
    assert.deepEqual(s.byStatus, { '200': 2, '413': 1 });
    assert.deepEqual(s.byFailure, { 'conn-error': 1, 'client-reset': 1 });
    assert.deepEqual(s.errors, { ECONNRESET: 1 });
    assert.equal(s.p50Ms, 200);
    assert.equal(s.p99Ms, 300);
    assert.equal(s.maxMs, 300);
  });

  it('has no latency without a full response', () => {
    const s = summarize([out({ outcome: 'deadline', error: 'deadline' })]);
    assert.equal(s.p50Ms, null);
    assert.equal(s.maxMs, null);
    assert.deepEqual(s.byFailure, { deadline: 1 });
  });
});

describe('droppedAtDrains', () => {
  const drains = [{ instance: 1, signalledMs: 1000, exitedMs: 5000 }];

  it('counts failures of requests in flight on the draining instance, not the client’s own resets', () => {
    const outcomes = [
      out({ startMs: 500, endMs: 2000, outcome: 'conn-error', error: 'ECONNRESET' }), // dropped
      out({ startMs: 500, endMs: 2000, outcome: 'deadline' }), // dropped
      out({ startMs: 500, endMs: 2000 }), // answered during the drain
      out({ startMs: 500, endMs: 2000, outcome: 'client-reset' }), // the client's doing
      out({ startMs: 100, endMs: 900, outcome: 'conn-error' }), // ended before the drain
      out({ instance: 2, startMs: 6000, endMs: 7000, outcome: 'conn-error' }), // another instance
      out({ startMs: 1500, endMs: 1600, outcome: 'conn-error', error: 'ECONNREFUSED' }), // sent late
      // What the service's log explains happens with or without a drain: no drop.
      out({ kind: 'over-limit', startMs: 900, endMs: 1200, outcome: 'answer-lost', status: 413 }),
      out({ startMs: 900, endMs: 1200, outcome: 'service-reset', error: 'ERR_SLABIO_TIMEOUT' }),
      out({ kind: 'over-limit-chunked', startMs: 900, endMs: 3000, outcome: 'deadline' }),
    ];
    const dropped = droppedAtDrains(outcomes, drains);
    assert.deepEqual(
      dropped.map((d) => d.error ?? d.outcome),
      ['ECONNRESET', 'deadline', 'ECONNREFUSED', 'deadline'],
    );
  });

  it('is empty without drains', () => {
    assert.deepEqual(droppedAtDrains([out({ outcome: 'conn-error' })], []), []);
  });
});

describe('attribute: connection errors explained by the service log', () => {
  it('marks answered requests answer-lost and abandoned ones service-reset', () => {
    const a = out({ id: 1001, outcome: 'conn-error', error: 'EPIPE' });
    const b = out({ id: 1002, outcome: 'conn-error', error: 'ECONNRESET' });
    const c = out({ id: 1003, outcome: 'conn-error', error: 'ECONNRESET' }); // not in the log
    const d = out({ id: 1004 }); // a 200 the log does not mention stays as it is
    const e = out({ id: 1005, outcome: 'deadline' }); // a deadline miss stays one
    const log = new Map([
      [1001, '413 ERR_SLABIO_LIMIT'],
      [1002, 'unanswered ERR_SLABIO_POOL_EXHAUSTED'],
      [1004, '503 ERR_SLABIO_POOL_EXHAUSTED'],
      [1005, 'unanswered ERR_SLABIO_TIMEOUT'],
    ]);
    const [ra, rb, rc, rd, re] = attribute([a, b, c, d, e], log);
    assert.equal(ra?.outcome, 'answer-lost');
    assert.equal(ra?.status, 413);
    assert.equal(ra?.error, 'EPIPE after 413');
    assert.equal(rb?.outcome, 'service-reset');
    assert.equal(rb?.error, 'ERR_SLABIO_POOL_EXHAUSTED');
    assert.deepEqual([rc, rd, re], [c, d, e]);
  });
});

describe('pool figures', () => {
  const snap = (o: Partial<PoolSnapshot>): PoolSnapshot => ({
    maxBytes: 1 << 24,
    inUseBytes: 0,
    highWaterBytes: 0,
    waiting: 0,
    waits: 0,
    oversizeBytes: 0,
    classes: [],
    ...o,
  });

  it('counts leases per class, oversize and bytes without classes', () => {
    assert.equal(leasesOf(snap({})), 0);
    const classes = [
      { size: 4096, inUseBytes: 3 * 4096 },
      { size: 65536, inUseBytes: 65536 },
    ];
    assert.equal(leasesOf(snap({ inUseBytes: 3 * 4096 + 65536, classes })), 4);
    assert.equal(leasesOf(snap({ inUseBytes: 1 << 25, oversizeBytes: 1 << 25 })), 1);
    assert.equal(leasesOf(snap({ inUseBytes: 100 })), 1);
  });

  it('reads the pool from the line the service prints at close', () => {
    const p = poolFromCloseLine('closed: pool in use 12611584 B, 77 waiting');
    assert.equal(p?.inUseBytes, 12611584);
    assert.equal(p?.waiting, 77);
    assert.equal(poolFromCloseLine('closed: pool in use 0 B, 0 waiting')?.inUseBytes, 0);
    assert.equal(poolFromCloseLine(null), null);
    assert.equal(poolFromCloseLine('something else'), null);
  });
});

const inst = (id: number, readyMs: number | null): Instance => ({
  id,
  pid: 1,
  startedMs: 0,
  readyMs,
  exitedMs: null,
  exitCode: null,
  exitSignal: null,
  fdsAtReady: null,
  eventLoop: null,
  closeLine: null,
  stderrTail: '',
});

describe('trendWindow', () => {
  const load = { startMs: 1000, sendUntilMs: 61_000, endMs: 70_000 };

  it('is the second half of the load', () => {
    assert.deepEqual(trendWindow({ load, instances: [inst(1, 500)] }), [31_000, 61_000]);
  });

  it('starts 5 s after an instance that became ready in the second half', () => {
    const instances = [inst(1, 500), inst(2, 40_000)];
    assert.deepEqual(trendWindow({ load, instances }), [45_000, 61_000]);
  });

  it('ignores restarts in the first half and after the load', () => {
    const instances = [inst(1, 500), inst(2, 20_000), inst(3, 65_000), inst(4, null)];
    assert.deepEqual(trendWindow({ load, instances }), [31_000, 61_000]);
  });
});

describe('parseEventLoop', () => {
  it('reads the since-start quantiles in ms', () => {
    const text = [
      '# HELP nodejs_eventloop_delay_since_start_seconds x',
      'nodejs_eventloop_delay_since_start_seconds{quantile="0.5"} 0.0101',
      'nodejs_eventloop_delay_since_start_seconds{quantile="0.99"} 0.046',
      'nodejs_eventloop_delay_since_start_seconds{quantile="1"} 0.0996',
    ].join('\n');
    const e = parseEventLoop(text);
    assert.ok(e !== null);
    assert.ok(Math.abs(e.p50Ms - 10.1) < 1e-9);
    assert.ok(Math.abs(e.p99Ms - 46) < 1e-9);
    assert.ok(Math.abs(e.maxMs - 99.6) < 1e-9);
    assert.equal(parseEventLoop('nodejs_eventloop_lag_p99_seconds 0.1'), null);
  });
});

describe('parseSoakArgs', () => {
  it('has the documented defaults', () => {
    const o = parseSoakArgs([]);
    assert.equal(o.durationS, 60);
    assert.equal(o.concurrency, 64);
    assert.equal(o.deadlineS, 30);
    assert.deepEqual(o.drainAtS, [9, 21]);
    const q = parseSoakArgs(['--quick']);
    assert.equal(q.durationS, 20);
    assert.deepEqual(q.drainAtS, [5]);
  });

  it('takes its flags and refuses bad values naming the flag', () => {
    const o = parseSoakArgs(['--duration', '120', '--concurrency', '256', '--drain-at', '10,50']);
    assert.equal(o.durationS, 120);
    assert.equal(o.concurrency, 256);
    assert.deepEqual(o.drainAtS, [10, 50]);
    assert.throws(() => parseSoakArgs(['--concurrency', '0']), /--concurrency .* got 0/);
    assert.throws(() => parseSoakArgs(['--duration', 'x']), /--duration/);
    assert.throws(() => parseSoakArgs(['--pool-mib', '8']), /--pool-mib/);
    assert.throws(() => parseSoakArgs(['--drain-at', '90', '--duration', '60']), /--drain-at/);
  });
});

describe('buildResults: the musts that set the exit code', () => {
  const emptyPool: PoolSnapshot = {
    maxBytes: 1 << 24,
    inUseBytes: 0,
    highWaterBytes: 0,
    waiting: 0,
    waits: 3,
    oversizeBytes: 0,
    classes: [{ size: 4096, inUseBytes: 0 }],
  };
  // 60 s of load, a flat 100 MiB working set sampled every second, one drain, two instances.
  const record = (o: Partial<RunRecord> = {}): RunRecord => ({
    environment: {},
    options: {},
    cgroup: { version: 'v1', limitBytes: 512 << 20 },
    cgroupNote: null,
    inputs: { images: [], tinyBytes: [] },
    load: { startMs: 0, sendUntilMs: 60_000, endMs: 61_000 },
    drainsPlanned: 1,
    outcomes: [out({}), out({ kind: 'metrics', endMs: 30 })],
    serviceLog: new Map(),
    drains: [{ instance: 1, signalledMs: 9000, exitedMs: 12_000 }],
    instances: [inst(1, 100), inst(2, 13_000)],
    pool: emptyPool,
    fdsBefore: 21,
    fdsAfter: 21,
    fdsNote: null,
    tempFilesLeft: 0,
    samples: Array.from({ length: 61 }, (_, i) => ({
      t: i * 1000,
      workingSet: 100 << 20,
      usage: null,
      rss: 150 << 20,
      anon: 0,
      activeFile: null,
      inactiveFile: null,
      failcnt: null,
      oomKills: null,
      items: 0,
      gcCount: 0,
      gcPauseMs: 0,
    })),
    ...o,
  });
  const failed = (r: RunRecord) =>
    buildResults(r)
      .musts.filter((m) => !m.ok)
      .map((m) => m.name);

  it('passes a clean run and reports its figures', () => {
    const res = buildResults(record());
    assert.equal(res.passed, true);
    assert.equal(res.restarts, 1);
    assert.equal(res.total.requests, 2);
    assert.equal(res.kinds.upload?.requests, 1);
    assert.equal(res.memory.workingSetSlopePerMin, 0);
    assert.equal(res.memory.peakWorkingSetBytes, 100 << 20);
    assert.deepEqual(res.memory.trendWindowMs, [30_000, 60_000]);
    assert.equal(res.poolAtEnd?.leases, 0);
  });

  it('fails on a request past its deadline', () => {
    const outcomes = [out({ outcome: 'deadline', error: 'deadline', endMs: 5000 })];
    assert.deepEqual(failed(record({ outcomes })), ['unanswered']);
  });

  it('fails on a request dropped at a drain, unless the service log explains it', () => {
    const outcomes = [out({ startMs: 8000, endMs: 11_000, outcome: 'conn-error' })];
    assert.deepEqual(failed(record({ outcomes })), ['dropped at drain']);
    const id = outcomes[0]?.id ?? 0;
    const res = buildResults(record({ outcomes, serviceLog: new Map([[id, '503 X']]) }));
    assert.equal(res.passed, true);
    assert.deepEqual(res.total.byFailure, { 'answer-lost': 1 });
  });

  it('fails on a lease or a waiter left, and when the pool could not be read', () => {
    const leased = { ...emptyPool, inUseBytes: 4096, classes: [{ size: 4096, inUseBytes: 4096 }] };
    assert.deepEqual(failed(record({ pool: leased })), ['leases at end']);
    assert.deepEqual(failed(record({ pool: { ...emptyPool, waiting: 1 } })), ['leases at end']);
    assert.deepEqual(failed(record({ pool: null })), ['leases at end']);
  });

  it('allows a few descriptors more, not one past the allowance or an unknown count', () => {
    assert.deepEqual(failed(record({ fdsAfter: 21 + FD_ALLOWANCE })), []);
    assert.deepEqual(failed(record({ fdsAfter: 22 + FD_ALLOWANCE })), ['fd growth']);
    assert.deepEqual(failed(record({ fdsAfter: null })), ['fd growth']);
  });

  it('skips the descriptor check, and says why, when the last instance was drained at the end', () => {
    const res = buildResults(record({ fdsAfter: null, fdsNote: 'instance 2 was drained' }));
    const fd = res.musts.find((m) => m.name === 'fd growth');
    assert.equal(fd?.skipped, 'instance 2 was drained');
    assert.equal(res.passed, true);
    // A note does not excuse a count that was taken.
    assert.deepEqual(failed(record({ fdsAfter: 40, fdsNote: 'x' })), ['fd growth']);
  });

  it('fails when a planned drain did not happen', () => {
    assert.deepEqual(failed(record({ drainsPlanned: 2 })), ['drains']);
  });

  it('reports no trend over a window under 10 s', () => {
    const res = buildResults(record({ instances: [inst(1, 100), inst(2, 52_000)] }));
    assert.deepEqual(res.memory.trendWindowMs, [57_000, 60_000]);
    assert.ok(Number.isNaN(res.memory.workingSetSlopePerMin));
    assert.equal(res.passed, true);
  });
});
