import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as errors from '../src/errors.js';
import { SlabioError } from '../src/index.js';

type Row = [
  name: string,
  make: () => errors.SlabioError,
  code: errors.SlabioErrorCode,
  fields?: Record<string, unknown>,
];

// Every member of the SlabioErrorCode union: the compiler refuses this object when a code is
// added to (or removed from) the union without being added here.
const everyCode: Record<errors.SlabioErrorCode, true> = {
  ERR_SLABIO_POOL_EXHAUSTED: true,
  ERR_SLABIO_TIMEOUT: true,
  ERR_SLABIO_DOUBLE_RELEASE: true,
  ERR_SLABIO_RELEASED: true,
  ERR_SLABIO_CLOSED: true,
  ERR_SLABIO_LIMIT: true,
  ERR_SLABIO_LENGTH_MISMATCH: true,
  ERR_SLABIO_BAD_INPUT: true,
  ERR_SLABIO_UNSAFE_ARCHIVE: true,
  ERR_SLABIO_UNSUPPORTED: true,
  ERR_SLABIO_DESTINATION: true,
  ERR_SLABIO_CGROUP: true,
  ERR_SLABIO_WORKER: true,
};

/** Compiles only while `code` is the union and each case narrows it (`never` after the last). */
function describeCode(err: errors.SlabioError): string {
  switch (err.code) {
    case 'ERR_SLABIO_POOL_EXHAUSTED':
    case 'ERR_SLABIO_TIMEOUT':
    case 'ERR_SLABIO_CLOSED':
      return 'retry later';
    case 'ERR_SLABIO_LIMIT':
    case 'ERR_SLABIO_LENGTH_MISMATCH':
    case 'ERR_SLABIO_BAD_INPUT':
    case 'ERR_SLABIO_UNSAFE_ARCHIVE':
    case 'ERR_SLABIO_DESTINATION':
      return 'refuse the input';
    case 'ERR_SLABIO_DOUBLE_RELEASE':
    case 'ERR_SLABIO_RELEASED':
    case 'ERR_SLABIO_UNSUPPORTED':
    case 'ERR_SLABIO_CGROUP':
    case 'ERR_SLABIO_WORKER':
      return 'a bug or the environment';
    default: {
      const unreachable: never = err.code;
      return unreachable;
    }
  }
}

/** Compiles only while isSlabioError's union narrows `err` itself by its code. */
function fieldOf(value: unknown): string {
  if (!errors.isSlabioError(value)) return 'not slabio';
  switch (value.code) {
    case 'ERR_SLABIO_LIMIT':
      return `limit ${value.limit}`;
    case 'ERR_SLABIO_POOL_EXHAUSTED':
      return `requested ${value.requested}`;
    case 'ERR_SLABIO_WORKER':
      return `reason ${value.reason}`;
    case 'ERR_SLABIO_DESTINATION':
      return `reason ${value.reason}`;
    default:
      return value.code;
  }
}

// One row per error class. The last test fails when a class is added without a row here.
const table: Row[] = [
  [
    'PoolExhaustedError',
    () => new errors.PoolExhaustedError(10, 100, 95),
    'ERR_SLABIO_POOL_EXHAUSTED',
    { requested: 10, maxBytes: 100, reservedBytes: 95 },
  ],
  [
    'SlabioTimeoutError',
    () => new errors.SlabioTimeoutError('acquireAsync', 50),
    'ERR_SLABIO_TIMEOUT',
    { timeoutMs: 50 },
  ],
  ['DoubleReleaseError', () => new errors.DoubleReleaseError(), 'ERR_SLABIO_DOUBLE_RELEASE'],
  ['UseAfterReleaseError', () => new errors.UseAfterReleaseError(), 'ERR_SLABIO_RELEASED'],
  ['ClosedError', () => new errors.ClosedError('pool'), 'ERR_SLABIO_CLOSED'],
  [
    'LimitExceededError',
    () => new errors.LimitExceededError(10, 11),
    'ERR_SLABIO_LIMIT',
    { limit: 10, bytesRead: 11 },
  ],
  [
    'LengthMismatchError',
    () => new errors.LengthMismatchError(10, 9),
    'ERR_SLABIO_LENGTH_MISMATCH',
    { expected: 10, actual: 9 },
  ],
  [
    'BadInputError',
    () => new errors.BadInputError('bad', { cause: new Error('root') }),
    'ERR_SLABIO_BAD_INPUT',
  ],
  [
    'UnsafeArchiveError',
    () => new errors.UnsafeArchiveError('traversal', '../x'),
    'ERR_SLABIO_UNSAFE_ARCHIVE',
    { entry: '../x' },
  ],
  ['UnsupportedError', () => new errors.UnsupportedError('no addon'), 'ERR_SLABIO_UNSUPPORTED'],
  [
    'DestinationError',
    () => new errors.DestinationError('/x/out', 'not-empty', 'is not empty'),
    'ERR_SLABIO_DESTINATION',
    { destination: '/x/out', reason: 'not-empty', message: '/x/out is not empty' },
  ],
  [
    'CgroupError',
    () => new errors.CgroupError('/x/memory.stat', 'bad number'),
    'ERR_SLABIO_CGROUP',
    { file: '/x/memory.stat' },
  ],
  [
    'WorkerError',
    () => new errors.WorkerError('exit', 'exited with code 3', { exitCode: 3 }),
    'ERR_SLABIO_WORKER',
    { reason: 'exit', exitCode: 3 },
  ],
];

describe('error classes', () => {
  for (const [name, make, code, fields] of table) {
    it(`${name} has code ${code}`, () => {
      const err = make();
      assert.ok(err instanceof SlabioError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal(err.code, code);
      assert.ok(err.message.length > 0);
      assert.match(String(err.stack), new RegExp(name));
      for (const [key, value] of Object.entries(fields ?? {})) {
        assert.equal((err as unknown as Record<string, unknown>)[key], value, key);
      }
    });
  }

  it('keeps the cause', () => {
    const root = new Error('root');
    assert.equal(new errors.BadInputError('x', { cause: root }).cause, root);
    assert.equal('cause' in new errors.BadInputError('x'), false);
  });

  it('the codes of the table are the SlabioErrorCode union, one class each', () => {
    const codes = table.map(([, , code]) => code);
    assert.deepEqual([...codes].sort(), Object.keys(everyCode).sort());
    assert.equal(new Set(codes).size, codes.length);
    for (const [, make] of table) assert.ok(describeCode(make()).length > 0);
  });

  it('isSlabioError narrows the error itself by its code', () => {
    assert.equal(fieldOf(new errors.LimitExceededError(10, 11)), 'limit 10');
    assert.equal(fieldOf(new errors.PoolExhaustedError(5, 4, 4)), 'requested 5');
    assert.equal(fieldOf(new errors.ClosedError('pool')), 'ERR_SLABIO_CLOSED');
    assert.equal(fieldOf(new Error('x')), 'not slabio');
    for (const [, make] of table) assert.ok(errors.isSlabioError(make()));
  });

  it('a subclass types its code as its own literal', () => {
    const err = new errors.LimitExceededError(1, 2);
    const literal: 'ERR_SLABIO_LIMIT' = err.code;
    assert.equal(literal, 'ERR_SLABIO_LIMIT');
  });

  it("slabio's timeout is told apart from AbortSignal.timeout()'s DOMException", async () => {
    const ours = new errors.SlabioTimeoutError('acquireAsync', 1);
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    const theirs: unknown = signal.reason;
    assert.ok(theirs instanceof DOMException);
    assert.equal(theirs.name, 'TimeoutError');
    assert.notEqual(ours.name, theirs.name);
    assert.ok(!(theirs instanceof SlabioError));
    assert.equal(ours.code, 'ERR_SLABIO_TIMEOUT');
    assert.notEqual((theirs as { code?: unknown }).code, ours.code);
  });

  it("the README's errors table lists every class with its code", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Errors\n'));
    const body = section.slice(0, section.indexOf('\n## ', 1));
    const rows = [...body.matchAll(/^\| `(\w+)` \| `(ERR_SLABIO_\w+)` \|/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    assert.deepEqual(rows.sort(), table.map(([name, , code]) => [name, code]).sort());
  });

  it('every exported error class has a row in this table', () => {
    const exported = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof SlabioError)
      .map(([k]) => k)
      .sort();
    assert.deepEqual(exported, table.map(([name]) => name).sort());
  });
});
