/**
 * extractZip reading an upload straight from an IncomingMessage: an archive over
 * `maxArchiveBytes` leaves the request paused, not destroyed, so the handler can still answer 413
 * (as readAll does), and nothing is left in the destination's parent.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { LimitExceededError } from '../src/index.js';
import { extractZip } from '../src/integrations/zip/index.js';
import { KiB, seededBytes, tempDir } from './helpers.js';

const LIMIT = 64 * KiB;

test('an upload over maxArchiveBytes can still be answered with 413', async (t) => {
  const dir = await tempDir(t);
  const server = http.createServer((req, res) => {
    extractZip(req, join(dir, 'out'), { maxArchiveBytes: LIMIT }).then(
      () => res.end('extracted'),
      (err: unknown) => {
        const status = err instanceof LimitExceededError ? 413 : 500;
        res.writeHead(status, { connection: 'close' }).end(String((err as Error).message));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  for (const [i, length] of [undefined, LIMIT + 32 * KiB].entries()) {
    const body = seededBytes(LIMIT + 32 * KiB, i);
    const status = await new Promise<number>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders =
        length === undefined ? {} : { 'content-length': length };
      const req = http.request(
        { port, host: '127.0.0.1', method: 'POST', path: '/', headers, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 40 * KiB));
      req.end(body.subarray(40 * KiB));
    });
    assert.equal(status, 413, `${length === undefined ? 'chunked' : 'content-length'} upload`);
  }
  assert.deepEqual(await readdir(dir), [], 'no spool file or staging directory is left');
});
