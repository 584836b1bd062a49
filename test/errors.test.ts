import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as errors from '../src/errors.js';
import { SlabioError } from '../src/index.js';

type Row = [
  name: string,
  make: () => errors.SlabioError,
  code: string,
  fields?: Record<string, unknown>,
];

// One row per error class. The last test fails when a class is added without a row here.
const table: Row[] = [
  [
    'PoolExhaustedError',
    () => new errors.PoolExhaustedError(10, 100, 95),
    'ERR_SLABIO_POOL_EXHAUSTED',
    { requested: 10, maxBytes: 100, reservedBytes: 95 },
  ],
  [
    'TimeoutError',
    () => new errors.TimeoutError('acquireAsync', 50),
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
    'SystemError',
    () => new errors.SystemError('posix_fadvise', 'EBADF', undefined, { errnoNumber: 9 }),
    'ERR_SLABIO_SYSTEM',
    { errno: 'EBADF', errnoNumber: 9, syscall: 'posix_fadvise' },
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

  it('every exported error class has a row in this table', () => {
    const exported = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof SlabioError)
      .map(([k]) => k)
      .sort();
    assert.deepEqual(exported, table.map(([name]) => name).sort());
  });
});
