/**
 * A real HTTP server reading uploads with readAll: the limit is enforced with 413 and the server
 * keeps serving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LengthMismatchError, LimitExceededError, readAll } from '../src/index.js';
import { assertNoLeases, KiB, newPool, pattern } from './read-all-helpers.js';

const LIMIT = 64 * KiB;

interface Reply {
  status: number;
  body: string;
}

describe('readAll on a local http server', () => {
  const pool = newPool();
  const server = http.createServer(async (req, res) => {
    try {
      using body = await readAll(req, { pool, maxBytes: LIMIT });
      const sha = createHash('sha256').update(body.buffer).digest('hex');
      res.end(`${body.buffer.length} ${sha}`);
    } catch (err) {
      if (err instanceof LimitExceededError) {
        // connection: close lets Node close the socket instead of waiting for the rest of the body.
        res.writeHead(413, { connection: 'close' }).end(`limit ${err.limit}`);
      } else if (err instanceof LengthMismatchError) {
        res.writeHead(400, { connection: 'close' }).end('length mismatch');
      } else {
        res.writeHead(500, { connection: 'close' }).end(String(err));
      }
    }
  });
  let port = 0;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** POST `chunks`; with `length` set a content-length is sent, else the body is chunked. */
  function upload(chunks: Buffer[], length?: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders =
        length === undefined ? {} : { 'content-length': length };
      const req = http.request(
        { port, host: '127.0.0.1', method: 'POST', path: '/', headers, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  it('reads a body with content-length into one exact lease', async () => {
    const body = pattern(50 * KiB);
    const reply = await upload([body.subarray(0, 20 * KiB), body.subarray(20 * KiB)], body.length);
    assert.deepEqual(reply, { status: 200, body: `${body.length} ${sha(body)}` });
  });

  it('reads a chunked body of exactly the limit', async () => {
    const body = pattern(LIMIT, 2);
    const reply = await upload([body.subarray(0, 1000), body.subarray(1000)]);
    assert.deepEqual(reply, { status: 200, body: `${LIMIT} ${sha(body)}` });
  });

  it('answers 413 for a declared length over the limit, without reading it', async () => {
    const body = pattern(LIMIT + 1, 3);
    const reply = await upload([body], body.length);
    assert.deepEqual(reply, { status: 413, body: `limit ${LIMIT}` });
  });

  it('answers 413 for a chunked body one byte over the limit', async () => {
    const body = pattern(LIMIT + 1, 4);
    const reply = await upload([body.subarray(0, 30 * KiB), body.subarray(30 * KiB)]);
    assert.deepEqual(reply, { status: 413, body: `limit ${LIMIT}` });
  });

  it('keeps serving after refusing, with no lease left behind', async () => {
    for (let i = 0; i < 3; i++) {
      const big = await upload([pattern(LIMIT + 10, i)]);
      assert.equal(big.status, 413);
      const small = pattern(1000 + i, i);
      assert.deepEqual(await upload([small], small.length), {
        status: 200,
        body: `${small.length} ${sha(small)}`,
      });
    }
    assertNoLeases(pool);
  });

  it('releases everything when the client goes away mid-upload', async () => {
    const closed = new Promise<void>((resolve) =>
      server.once('request', (req) => req.once('close', resolve)),
    );
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      agent: false,
      headers: { 'content-length': 40_000 },
    });
    req.on('error', () => {}); // we destroy it ourselves
    req.write(pattern(10_000));
    await new Promise((resolve) => setTimeout(resolve, 20));
    req.destroy();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assertNoLeases(pool);
  });
});
