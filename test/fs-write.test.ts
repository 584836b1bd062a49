import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LimitExceededError } from '../src/errors.js';
import {
  createNoCacheWriteStream,
  readFileNoCache,
  residency,
  writeFileNoCache,
} from '../src/fs/index.js';
import { nativeAvailable } from '../src/linux/index.js';
import { loadBinding } from '../src/native/binding.js';
import { BufferPool, type Lease } from '../src/pool/index.js';
import { MiB, seededBytes, sha256, tempDir } from './helpers.js';

const native = nativeAvailable();
const chunks = Array.from({ length: 24 }, (_, i) => seededBytes(MiB, i));
const hash = sha256(...chunks);

async function* failingSource(after: number, err: Error): AsyncGenerator<Buffer> {
  for (let i = 0; i < after; i++) yield chunks[i] as Buffer;
  throw err;
}

for (const atomic of [true, false]) {
  test(`error mid-write (atomic: ${atomic}) leaves no temp file${atomic ? ' and the old file intact' : ''}`, async (t) => {
    const dir = await tempDir(t);
    const p = join(dir, 'out.bin');
    if (atomic) await writeFile(p, 'old contents');
    const boom = new Error('injected');
    await assert.rejects(writeFileNoCache(p, failingSource(12, boom), { atomic }), boom);
    assert.deepEqual(await readdir(dir), atomic ? ['out.bin'] : []);
    if (atomic) assert.equal(await readFile(p, 'utf8'), 'old contents');
  });
}

test('atomic write replaces the old file with exactly the bytes written', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'out.bin');
  await writeFile(p, 'old');
  const r = await writeFileNoCache(p, Readable.from(chunks), { atomic: true, fsync: true });
  assert.equal(r.bytesWritten, 24 * MiB);
  assert.deepEqual(await readdir(dir), ['out.bin']);
  assert.equal(sha256(await readFile(p)), hash);
});

test('abort during the write rejects with signal.reason and removes the file', async (t) => {
  const dir = await tempDir(t);
  const ac = new AbortController();
  const reason = new Error('stop');
  async function* src(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 24; i++) {
      if (i === 5) ac.abort(reason);
      yield chunks[i] as Buffer;
    }
  }
  await assert.rejects(
    writeFileNoCache(join(dir, 'a.bin'), src(), { atomic: true, signal: ac.signal }),
    reason,
  );
  assert.deepEqual(await readdir(dir), []);
});

/** `p`, or a rejection after `ms`: turns a hang into a failure (never a timing assertion). */
function deadline<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error(`still pending after ${ms} ms`))),
    ),
  ]);
}

test('abort while the source is stalled in next(): rejects with signal.reason, removes the temp file, releases a late lease', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const ac = new AbortController();
  const reason = new Error('deadline');
  let stalled = (): void => {};
  const reachedStall = new Promise<void>((r) => {
    stalled = r;
  });
  let deliver = (_: Buffer | Lease): void => {};
  let finallyRan = false;
  async function* upload(): AsyncGenerator<Buffer | Lease> {
    try {
      yield Buffer.from('first chunk');
      stalled();
      // The peer stops sending: this next() only resolves when the test says so.
      yield await new Promise<Buffer | Lease>((r) => {
        deliver = r;
      });
    } finally {
      finallyRan = true;
    }
  }
  const p = writeFileNoCache(join(dir, 'out.bin'), upload(), { atomic: true, signal: ac.signal });
  await deadline(reachedStall);
  ac.abort(reason);
  await assert.rejects(deadline(p), reason);
  assert.deepEqual(await readdir(dir), []);
  // The stalled chunk arrives after all: a lease nobody will write must go back to the pool.
  const late = pool.acquire(4096);
  deliver(late);
  await deadline(
    (async () => {
      while (!late.released || !finallyRan) await new Promise((r) => setImmediate(r));
    })(),
  );
  assert.equal(pool.stats().inUseBytes, 0);
});

test('leases are released once written, also when the write fails', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const leases = chunks.slice(0, 4).map((c) => {
    const l = pool.acquire(c.length);
    c.copy(l.buffer);
    return l;
  });
  await writeFileNoCache(join(dir, 'l.bin'), leases);
  assert.ok(leases.every((l) => l.released));
  assert.equal(sha256(await readFile(join(dir, 'l.bin'))), sha256(...chunks.slice(0, 4)));
  const l2 = pool.acquire(MiB);
  await assert.rejects(
    writeFileNoCache(join(dir, 'x.bin'), [l2, 42 as unknown as Buffer]),
    TypeError,
  );
  assert.equal(l2.released, true);
  assert.equal(pool.stats().inUseBytes, 0);
  assert.deepEqual(await readdir(dir), ['l.bin']);
});

test('createNoCacheWriteStream: pipeline of buffers and leases, bounded cache', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const p = join(dir, 's.bin');
  const ws = createNoCacheWriteStream(p, { windowBytes: 4 * MiB, atomic: true });
  async function* src(): AsyncGenerator<unknown> {
    for (const [i, c] of chunks.entries()) {
      if (i % 2 === 0) yield c;
      else {
        const l = pool.acquire(c.length);
        c.copy(l.buffer);
        yield l;
      }
    }
  }
  await pipeline(src, ws);
  assert.equal(ws.bytesWritten, 24 * MiB);
  assert.equal(pool.stats().inUseBytes, 0);
  if (native) {
    const res = await residency(p);
    assert.ok(res.cachedBytes <= 4 * MiB, `${ws.strategy}: ${res.cachedBytes} bytes cached`);
  }
  assert.equal(sha256(await readFile(p)), hash);
  assert.deepEqual(await readdir(dir), ['s.bin']);
});

test('createNoCacheWriteStream destroyed mid-way: file removed, queued leases released', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const ws = createNoCacheWriteStream(join(dir, 'd.bin'));
  const leases = [0, 1, 2].map(() => pool.acquire(MiB));
  for (const l of leases) ws.write(l);
  const err = new Error('cancel');
  let seen: unknown = null;
  ws.on('error', (e) => {
    seen = e;
  });
  ws.destroy(err);
  await new Promise((r) => ws.once('close', r));
  assert.equal(seen, err);
  assert.ok(leases.every((l) => l.released));
  assert.deepEqual(await readdir(dir), []);
});

test('createNoCacheWriteStream: a lease written after end() or destroy() is released', async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const ended = createNoCacheWriteStream(join(dir, 'ended.bin'));
  ended.on('error', () => {}); // the refused write is also reported as an 'error' event
  ended.end();
  await new Promise((r) => ended.once('finish', r));
  const late = pool.acquire(4096);
  const cbErr = await new Promise((r) => ended.write(late, r));
  assert.equal((cbErr as { code?: string }).code, 'ERR_STREAM_WRITE_AFTER_END');
  assert.equal(late.released, true);

  const destroyed = createNoCacheWriteStream(join(dir, 'destroyed.bin'));
  destroyed.on('error', () => {});
  destroyed.destroy();
  const beforeClose = pool.acquire(4096);
  const cbErr2 = await new Promise((r) => destroyed.write(beforeClose, r));
  assert.equal((cbErr2 as { code?: string }).code, 'ERR_STREAM_DESTROYED');
  assert.equal(beforeClose.released, true);
  if (!destroyed.closed) await new Promise((r) => destroyed.once('close', r));
  const afterClose = pool.acquire(4096);
  await new Promise((r) => destroyed.write(afterClose, r));
  assert.equal(afterClose.released, true);
  assert.equal(pool.stats().inUseBytes, 0);
  assert.deepEqual(await readdir(dir), ['ended.bin']);
});

type GatedCall = 'pwritev2' | 'syncFileRange' | 'fadvise';

/**
 * Hold the next call of `name` on the real addon until `open()`: the call is entered (its fd and
 * buffers taken) but only runs once the test says so, like a threadpool call that takes long. Every
 * later call of any gated kind records whether it failed, e.g. with EBADF on a closed descriptor.
 */
function gateNativeCall(t: TestContext, name: GatedCall) {
  const b = loadBinding() as Record<GatedCall, (...args: unknown[]) => Promise<unknown>>;
  const originals = { pwritev2: b.pwritev2, syncFileRange: b.syncFileRange, fadvise: b.fadvise };
  let entered = (): void => {};
  const reached = new Promise<void>((r) => {
    entered = r;
  });
  let open = (): void => {};
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const failures: string[] = [];
  let held = false;
  for (const k of Object.keys(originals) as GatedCall[]) {
    b[k] = async (...args: unknown[]) => {
      if (k === name && !held) {
        held = true;
        entered();
        await gate;
      }
      return originals[k](...args).catch((err: unknown) => {
        failures.push(`${k}: ${String((err as Error).message)}`);
        throw err;
      });
    };
  }
  t.after(() => Object.assign(b, originals));
  return { reached, open, failures };
}

/** The stream's 'close' event (events.once would reject on the 'error' that comes first). */
function closeEvent(ws: NodeJS.EventEmitter): Promise<void> {
  return new Promise((r) => ws.once('close', () => r()));
}

/** Let the event loop run a while; used only to give a wrong implementation time to misbehave. */
function aWhile(): Promise<void> {
  return new Promise((r) => setTimeout(r, 200));
}

test('destroy() during a pwritev2: the leases and the descriptor are let go only after it returns', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  const ws = createNoCacheWriteStream(join(dir, 'w.bin'), { strategy: 'windowed' });
  ws.on('error', () => {});
  // Once a first write is done the stream is constructed: the next pwritev2 is _writev's own,
  // not the capability probe's.
  await new Promise((r) => ws.write(chunks[0], r));
  const gate = gateNativeCall(t, 'pwritev2');
  const lease = pool.acquire(MiB);
  ws.write(lease);
  await deadline(gate.reached);
  ws.destroy(new Error('cancel'));
  await Promise.race([closeEvent(ws), aWhile()]);
  assert.equal(lease.released, false, 'lease released while pwritev2 still reads it');
  assert.equal(ws.closed, false, 'stream closed while pwritev2 was running');
  gate.open();
  await deadline(closeEvent(ws));
  assert.deepEqual(gate.failures, []);
  assert.equal(lease.released, true);
  assert.equal(pool.stats().inUseBytes, 0);
  assert.deepEqual(await readdir(dir), []);
});

test('destroy() during finish(): no call reaches the closed descriptor', {
  skip: !native && 'native addon not loaded',
}, async (t) => {
  const dir = await tempDir(t);
  const ws = createNoCacheWriteStream(join(dir, 'f.bin'), { strategy: 'windowed' });
  ws.on('error', () => {});
  ws.write(chunks[0]);
  await new Promise((r) => ws.write(chunks[1], r));
  // The data is written; the next sync_file_range is finish()'s, from _final.
  const gate = gateNativeCall(t, 'syncFileRange');
  ws.end();
  await deadline(gate.reached);
  ws.destroy(new Error('cancel'));
  await Promise.race([closeEvent(ws), aWhile()]);
  assert.equal(ws.closed, false, 'descriptor closed while finish() was running');
  gate.open();
  await deadline(closeEvent(ws));
  // finish()'s fadvise after the held call would have hit the closed descriptor (EBADF).
  assert.deepEqual(gate.failures, []);
  assert.deepEqual(await readdir(dir), []);
});

test('readFileNoCache reads exactly the file into a lease and leaves it uncached', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'r.bin');
  await writeFileNoCache(p, chunks);
  const pool = new BufferPool({ maxBytes: 64 * MiB });
  for (const strategy of ['auto', 'fadvise', 'none'] as const) {
    await readFile(p); // cached (and clean) before the no-cache read
    const lease = await readFileNoCache(p, { pool, strategy, chunkBytes: 4 * MiB });
    assert.equal(sha256(lease.buffer), hash);
    lease.release();
    if (native) {
      const cached = (await residency(p)).cachedBytes;
      if (strategy === 'none') assert.ok(cached >= 20 * MiB, `none: ${cached}`);
      else assert.equal(cached, 0, `${strategy}: ${cached}`);
    }
  }
  await assert.rejects(readFileNoCache(p, { pool, maxBytes: MiB }), LimitExceededError);
  const empty = join(dir, 'empty');
  await writeFile(empty, '');
  const e = await readFileNoCache(empty, { pool });
  assert.equal(e.buffer.length, 0);
  e.release();
  assert.equal(pool.stats().inUseBytes, 0);
});

test('without the addon: files are written normally, capabilities says why, one SLABIO_NO_NATIVE warning', async (t) => {
  const dir = await tempDir(t);
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const linux = fileURLToPath(new URL('../src/linux/index.js', import.meta.url));
  const script = `
    const m = await import(${JSON.stringify(index)});
    const { mallocTrim } = await import(${JSON.stringify(linux)});
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code));
    const p = ${JSON.stringify(join(dir, 'n.bin'))};
    const r1 = await m.writeFileNoCache(p, Buffer.alloc(1 << 20, 7), { atomic: true });
    await m.writeFileNoCache(p, Buffer.alloc(1 << 20, 7));
    const caps = await m.capabilities(${JSON.stringify(dir)});
    let forced = null;
    await m.writeFileNoCache(p, Buffer.alloc(1), { strategy: 'windowed' }).catch((e) => { forced = e.code; });
    await new Promise((r) => setImmediate(r));
    console.log(JSON.stringify({ strategy: r1.strategy, warnings, native: caps.native, forced, trim: mallocTrim() }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SLABIO_NATIVE: '0' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const r = JSON.parse(out);
  assert.equal(r.strategy, 'none');
  assert.deepEqual(r.warnings, ['SLABIO_NO_NATIVE']);
  assert.equal(r.native.available, false);
  assert.match(r.native.reason, /SLABIO_NATIVE=0/);
  assert.equal(r.forced, 'ERR_SLABIO_UNSUPPORTED');
  assert.equal(r.trim, false);
  assert.equal((await readFile(join(dir, 'n.bin'))).length, 1 << 20);
});
