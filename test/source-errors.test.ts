import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readAll, readAllChunks } from '../src/index.js';

const run = promisify(execFile);
const url = (p: string): string => new URL(p, import.meta.url).href;

/** Each public entry point that takes a Readable, as the source of a child's call on `r`. */
const CALLS: Record<string, string> = {
  readAll: 's.readAll(r)',
  readAllChunks: 's.readAllChunks(r)',
  pump: 's.pump(r, new Writable({ write(c, e, cb) { cb(); } }))',
  gunzip: 's.gunzip(r)',
  decompress: "s.decompress(r, { format: 'brotli' })",
  writeFileNoCache: "s.writeFileNoCache(join(dir, 'out'), r)",
  'writeFileNoCache atomic': "s.writeFileNoCache(join(dir, 'out'), r, { atomic: true })",
  extractZip: "zip.extractZip(r, join(dir, 'x'))",
  transformImage: 'sharp.transformImage(r, (i) => i)',
  decodeRaw: 'sharp.decodeRaw(r)',
};

/** How the child gets its stream `r`: each has an error pending or emitted when it is handed over. */
const STREAMS: Record<string, string> = {
  'destroyed with an error in the same tick': `
    const r = new Readable({ read() {} });
    r.destroy(new Error('boom'));`,
  'already errored': `
    const r = new Readable({ read() {} });
    r.on('error', () => {});
    r.destroy(new Error('boom'));
    await new Promise((resolve) => setTimeout(resolve, 10));`,
  'destroyed later, its _destroy failing': `
    const r = new Readable({ read() {}, destroy(e, cb) { cb(new Error('boom')); } });
    setImmediate(() => r.destroy());`,
};

function script(call: string, stream: string, dir: string): string {
  return `
    import { Readable, Writable } from 'node:stream';
    import { join } from 'node:path';
    const s = await import(${JSON.stringify(url('../src/index.js'))});
    const zip = await import(${JSON.stringify(url('../src/integrations/zip/index.js'))});
    const sharp = await import(${JSON.stringify(url('../src/integrations/sharp/index.js'))});
    const dir = ${JSON.stringify(dir)};
    ${stream}
    let outcome;
    try {
      await ${call};
      outcome = 'resolved';
    } catch (err) {
      outcome = err instanceof Error ? err.message : String(err);
    }
    // Long enough for every pending 'error' emit (nextTick, setImmediate, a _destroy callback).
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log(JSON.stringify({ outcome, survived: true }));`;
}

describe("a Readable with an 'error' pending never crashes the process", () => {
  for (const [streamName, stream] of Object.entries(STREAMS)) {
    for (const [name, call] of Object.entries(CALLS)) {
      it(`${name}: ${streamName} rejects with the stream's error`, async (t) => {
        const dir = await mkdtemp(join(tmpdir(), 'slabio-test-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const child = await run(
          process.execPath,
          ['--input-type=module', '-e', script(call, stream, dir)],
          { timeout: 30_000 },
        ).catch((err: { code?: unknown; stderr?: string }) => err);
        const stdout = (child as { stdout?: string }).stdout ?? '';
        const stderr = (child as { stderr?: string }).stderr ?? '';
        assert.ok(stdout.includes('survived'), `the child crashed:\n${stderr}`);
        assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1) as string), {
          outcome: 'boom',
          survived: true,
        });
      });
    }
  }
});

describe('readAll of a stream already read to its end', () => {
  for (const [name, read] of [
    ['readAll', readAll],
    ['readAllChunks', readAllChunks],
  ] as const) {
    it(`${name}: a TypeError that says the stream has ended`, async () => {
      const s = Readable.from([Buffer.from('abc')]);
      for await (const _ of s) {
        // consume
      }
      assert.equal(s.readableEnded, true);
      await assert.rejects(read(s), (err: unknown) => {
        assert.ok(err instanceof TypeError, String(err));
        assert.match(err.message, /already ended/);
        return true;
      });
    });

    it(`${name}: a stream ended by another 'data' reader`, async () => {
      const s = new Readable({ read() {} });
      s.push('abc');
      s.push(null);
      s.resume();
      await new Promise((resolve) => s.once('end', resolve));
      await assert.rejects(read(s), { name: 'TypeError', message: /already ended/ });
    });
  }
});
