/**
 * A real HTTP server reading uploads with readAll: the limit is enforced with 413 and the server
 * keeps serving.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LengthMismatchError, LimitExceededError, readAll } from '../src/index.js';
import { KiB, seededBytes, sha256 } from './helpers.js';
import { assertNoLeases, newPool } from './read-all-helpers.js';

const LIMIT = 64 * KiB;

interface Reply {
  status: number;
  body: string;
}

describe('readAll on a local http server', () => {
  const pool = newPool();
  // Each request's handling, settled once its lease is back (a test can wait on it).
  const handled: Promise<void>[] = [];
  const server = http.createServer((req, res) => {
    handled.push(serve(req, res));
  });
  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      using body = await readAll(req, { pool, maxBytes: LIMIT });
      res.end(`${body.buffer.length} ${sha256(body.buffer)}`);
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
  }
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

  it('reads a body with content-length into one exact lease', async () => {
    const body = seededBytes(50 * KiB);
    const reply = await upload([body.subarray(0, 20 * KiB), body.subarray(20 * KiB)], body.length);
    assert.deepEqual(reply, { status: 200, body: `${body.length} ${sha256(body)}` });
  });

  it('reads a chunked body of exactly the limit', async () => {
    const body = seededBytes(LIMIT, 2);
    const reply = await upload([body.subarray(0, 1000), body.subarray(1000)]);
    assert.deepEqual(reply, { status: 200, body: `${LIMIT} ${sha256(body)}` });
  });

  it('answers 413 for a declared length over the limit, without reading it', async () => {
    const body = seededBytes(LIMIT + 1, 3);
    const reply = await upload([body], body.length);
    assert.deepEqual(reply, { status: 413, body: `limit ${LIMIT}` });
  });

  it('answers 413 for a chunked body one byte over the limit', async () => {
    const body = seededBytes(LIMIT + 1, 4);
    const reply = await upload([body.subarray(0, 30 * KiB), body.subarray(30 * KiB)]);
    assert.deepEqual(reply, { status: 413, body: `limit ${LIMIT}` });
  });

  it('keeps serving after refusing, with no lease left behind', async () => {
    for (let i = 0; i < 3; i++) {
      const big = await upload([seededBytes(LIMIT + 10, i)]);
      assert.equal(big.status, 413);
      const small = seededBytes(1000 + i, i);
      assert.deepEqual(await upload([small], small.length), {
        status: 200,
        body: `${small.length} ${sha256(small)}`,
      });
    }
    assertNoLeases(pool);
  });

  it('releases everything when the client goes away mid-upload', async () => {
    const seen = once(server, 'request') as Promise<[http.IncomingMessage]>;
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      agent: false,
      headers: { 'content-length': 40_000 },
    });
    req.on('error', () => {}); // we destroy it ourselves
    req.write(seededBytes(10_000));
    // The server has the request (its handler is reading the body) before the client goes.
    const [incoming] = await seen;
    const serving = handled.at(-1);
    const closed = new Promise((resolve) => incoming.once('close', resolve));
    req.destroy();
    await closed;
    await serving; // the handler has settled: readAll gave its lease back
    assertNoLeases(pool);
  });
});
