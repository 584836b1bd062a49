import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadInputError, BufferPool, getDefaultPool } from 'slabio';
import { type QrBatchItem, qrBatch } from 'slabio/qrcode';
import { tempDir } from './helpers.js';
import { decodePng, readSvg } from './qrcode-helpers.js';

function inUse(pool: BufferPool = getDefaultPool()): number {
  return pool.stats().inUseBytes;
}

function items(n: number, prefix = 'code'): QrBatchItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, text: `${prefix} ${i} 码` }));
}

/** An async source that records how far it was pulled and whether `return()` was called. */
function trackedSource(list: QrBatchItem[], delayMs = 0) {
  const state = { pulled: 0, returned: false };
  const source: AsyncIterable<QrBatchItem> = {
    [Symbol.asyncIterator]() {
      return {
        async next() {
          if (delayMs > 0) await sleep(state.pulled % 3 === 0 ? delayMs : 0);
          const value = list[state.pulled];
          if (value === undefined) return { done: true, value: undefined };
          state.pulled++;
          return { done: false, value };
        },
        async return() {
          state.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { source, state };
}

describe('qrBatch: leases', () => {
  it('yields every code in input order, each decodable, from a slow async source', async () => {
    const list = items(25);
    const { source } = trackedSource(list, 2);
    const seen: string[] = [];
    for await (const { id, lease } of qrBatch(source, { concurrency: 4, scale: 2 })) {
      const i = seen.length;
      assert.equal(id, list[i]?.id);
      assert.equal(decodePng(lease.buffer), list[i]?.text);
      lease.release();
      seen.push(id);
    }
    assert.equal(seen.length, 25);
    assert.equal(inUse(), 0);
  });

  it('takes a plain array and an empty input', async () => {
    const ids: string[] = [];
    for await (const r of qrBatch(items(3), { concurrency: 1 })) {
      ids.push(r.id);
      r.lease.release();
    }
    assert.deepEqual(ids, ['code-0', 'code-1', 'code-2']);
    for await (const r of qrBatch([])) assert.fail(`yielded ${r.id}`);
  });

  it('break out of for-await: nothing stays leased, the source is returned', async () => {
    const { source, state } = trackedSource(items(50));
    let n = 0;
    for await (const { lease } of qrBatch(source, { concurrency: 8 })) {
      lease.release();
      if (++n === 3) break;
    }
    assert.equal(inUse(), 0);
    assert.ok(state.returned);
    assert.ok(state.pulled < 50, 'stopped pulling');
  });

  it('a throw in the loop body: nothing stays leased', async () => {
    const boom = new Error('consumer failed');
    await assert.rejects(async () => {
      for await (const { lease } of qrBatch(items(20), { concurrency: 5 })) {
        lease.release();
        throw boom;
      }
    }, boom);
    assert.equal(inUse(), 0);
  });

  it('a too-long item rejects with ERR_SLABIO_BAD_INPUT after the items before it', async () => {
    const list = items(6);
    list[4] = { id: 'long', text: 'a'.repeat(1274) };
    const got: string[] = [];
    await assert.rejects(
      async () => {
        for await (const { id, lease } of qrBatch(list, {
          concurrency: 3,
          errorCorrectionLevel: 'H',
        })) {
          got.push(id);
          lease.release();
        }
      },
      (err: unknown) =>
        err instanceof BadInputError &&
        /items\[4\]\.text/.test(err.message) &&
        err.cause instanceof Error,
    );
    assert.deepEqual(got, ['code-0', 'code-1', 'code-2', 'code-3']);
    assert.equal(inUse(), 0);
  });

  it('a bad item (no text, not an object) is a TypeError naming it', async () => {
    const bad = [{ id: 'a', text: 'ok' }, { id: 'b' }] as QrBatchItem[];
    await assert.rejects(async () => {
      for await (const r of qrBatch(bad)) r.lease.release();
    }, /items\[1\]\.text must be a string/);
    await assert.rejects(async () => {
      for await (const r of qrBatch([null] as unknown as QrBatchItem[])) r.lease.release();
    }, /items\[0\] must be an object/);
    assert.equal(inUse(), 0);
  });

  it('a source that throws: the error propagates, nothing stays leased', async () => {
    const fail = new Error('source failed');
    async function* source(): AsyncGenerator<QrBatchItem> {
      yield { id: 'a', text: 'a' };
      yield { id: 'b', text: 'b' };
      throw fail;
    }
    await assert.rejects(async () => {
      for await (const r of qrBatch(source(), { concurrency: 4 })) r.lease.release();
    }, fail);
    assert.equal(inUse(), 0);
  });

  it('abort before start and during iteration rejects with signal.reason', async () => {
    const reason = new Error('stop');
    await assert.rejects(async () => {
      for await (const r of qrBatch(items(3), { signal: AbortSignal.abort(reason) })) {
        r.lease.release();
      }
    }, reason);
    const controller = new AbortController();
    let n = 0;
    await assert.rejects(async () => {
      for await (const r of qrBatch(items(30), { signal: controller.signal, concurrency: 6 })) {
        r.lease.release();
        if (++n === 2) controller.abort(reason);
      }
    }, reason);
    assert.equal(n, 2);
    assert.equal(inUse(), 0);
  });

  it("a 'wait' pool smaller than concurrency × code still completes (acquireAsync queues)", async () => {
    using pool = new BufferPool({ sizeClasses: [4096], slabBytes: 8192, maxBytes: 8192 });
    let n = 0;
    for await (const { lease } of qrBatch(items(12), { pool, concurrency: 6 })) {
      assert.ok(decodePng(lease.buffer));
      // A consumer slower than rendering: the codes rendered ahead fill the budget and wait.
      await new Promise((resolve) => setTimeout(resolve, 5));
      lease.release();
      n++;
    }
    assert.equal(n, 12);
    assert.ok(pool.stats().waits > 0, 'some renders waited for a block');
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('bad options throw synchronously, naming the option', () => {
    assert.throws(() => qrBatch([], { concurrency: 0 }), /options\.concurrency.*got 0/);
    assert.throws(() => qrBatch([], { concurrency: 2.5 }), RangeError);
    assert.throws(() => qrBatch([], { outDir: '' as string }), /options\.outDir/);
    assert.throws(() => qrBatch([], { signal: {} as AbortSignal }), /options\.signal/);
    assert.throws(() => qrBatch([], { scale: 0 }), /options\.scale/);
    assert.throws(() => qrBatch(42 as unknown as QrBatchItem[]), /items must be an iterable/);
  });
});

describe('qrBatch: outDir', () => {
  it('writes <id>.png files that decode, and yields their paths in order', async (t) => {
    const dir = await tempDir(t);
    const list = items(10);
    const paths: string[] = [];
    for await (const { id, path } of qrBatch(list, { outDir: dir, concurrency: 4 })) {
      assert.equal(path, join(dir, `${id}.png`));
      paths.push(path);
    }
    assert.equal(paths.length, 10);
    for (const [i, p] of paths.entries()) assert.equal(decodePng(await readFile(p)), list[i]?.text);
    assert.equal((await readdir(dir)).length, 10);
    assert.equal(inUse(), 0);
  });

  it('svg format writes <id>.svg', async (t) => {
    const dir = await tempDir(t);
    for await (const { path } of qrBatch([{ id: 7, text: 'svg' }], {
      outDir: dir,
      format: 'svg',
    })) {
      assert.equal(path, join(dir, '7.svg'));
      assert.ok(readSvg(await readFile(path, 'utf8')).cells.includes(1));
    }
  });

  it('break early: only the yielded files remain, no temp files, nothing leased', async (t) => {
    const dir = await tempDir(t);
    const yielded: string[] = [];
    for await (const { path } of qrBatch(items(40), { outDir: dir, concurrency: 8 })) {
      yielded.push(path);
      if (yielded.length === 3) break;
    }
    assert.deepEqual((await readdir(dir)).sort(), ['code-0.png', 'code-1.png', 'code-2.png']);
    assert.equal(inUse(), 0);
  });

  it('abort mid-batch: only the yielded files remain', async (t) => {
    const dir = await tempDir(t);
    const controller = new AbortController();
    let n = 0;
    await assert.rejects(async () => {
      for await (const _ of qrBatch(items(40), {
        outDir: dir,
        concurrency: 8,
        signal: controller.signal,
      })) {
        if (++n === 2) controller.abort(new Error('enough'));
      }
    }, /enough/);
    assert.deepEqual((await readdir(dir)).sort(), ['code-0.png', 'code-1.png']);
    assert.equal(inUse(), 0);
  });

  const badIds: [string, unknown, RegExp][] = [
    ['path traversal', '../escape', /items\[1\]\.id must be a file name/],
    ['a slash', 'a/b', /items\[1\]\.id must be a file name/],
    ['dot-dot', '..', /items\[1\]\.id must be a file name/],
    ['empty', '', /items\[1\]\.id must be a file name/],
    ['an object', { x: 1 }, /items\[1\]\.id must be a string or number/],
    ['a duplicate', 'first', /items\[1\]\.id "first" is a duplicate/],
  ];
  for (const [name, id, message] of badIds) {
    it(`an id that is ${name} is refused and nothing is left in outDir`, async (t) => {
      const dir = await tempDir(t);
      const list = [
        { id: 'first', text: 'one' },
        { id, text: 'two' },
      ] as QrBatchItem<unknown>[];
      await assert.rejects(async () => {
        for await (const _ of qrBatch(list, { outDir: dir })) {
          // consume
        }
      }, message);
      // 'first' was yielded before the failure, so it stays; nothing else (no escape, no temp).
      assert.deepEqual(await readdir(dir), ['first.png']);
      await assert.rejects(stat(join(dir, '..', 'escape.png')), { code: 'ENOENT' });
      assert.equal(inUse(), 0);
    });
  }
});
