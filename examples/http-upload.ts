/**
 * An HTTP upload handler that reads each request body into one pooled lease, under a limit.
 * A local server gets an upload within the limit (200), one whose content-length is over it and
 * one streamed without a length that crosses it while being read (both 413), then another upload
 * within the limit, to show the server keeps serving. Exits non-zero if any answer is wrong or a
 * lease is left in use.
 *
 * Run: `npx tsc -p . && node dist/examples/http-upload.js`
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BufferPool, LimitExceededError, readAll } from 'slabio';

const LIMIT = 1024 * 1024;
const pool = new BufferPool({ maxBytes: 64 * 1024 * 1024 });

const server = http.createServer(async (req, res) => {
  try {
    // content-length, when present, is the length hint: a declared body over the limit is refused
    // before a byte is read, and a known length is read into one block with no second copy.
    // The timeout bounds how long a slow client can hold the lease.
    using body = await readAll(req, {
      pool,
      maxBytes: LIMIT,
      signal: AbortSignal.timeout(10_000),
    });
    const digest = createHash('sha256').update(body.buffer).digest('hex');
    res.end(`${body.buffer.length} ${digest}`);
  } catch (err) {
    // connection: close lets Node drop the rest of the upload instead of reading it to the end:
    // readAll paused the request (destroying it would have destroyed the socket, and this answer).
    if (err instanceof LimitExceededError) {
      res.writeHead(413, { connection: 'close' }).end(`body over ${err.limit} bytes`);
    } else if (err instanceof DOMException && err.name === 'TimeoutError') {
      res.writeHead(408, { connection: 'close' }).end();
    } else {
      res.writeHead(500, { connection: 'close' }).end();
    }
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

/** POST `bytes` bytes, with a content-length, or streamed in 64 KiB chunks without one. */
async function upload(bytes: number, streamed: boolean): Promise<{ status: number; text: string }> {
  const data = new Uint8Array(bytes).map((_, i) => i % 251);
  let body: Uint8Array | ReadableStream<Uint8Array> = data;
  if (streamed) {
    let at = 0;
    body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes) return controller.close();
        controller.enqueue(data.subarray(at, at + 65536));
        at += 65536;
      },
    });
  }
  const res = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit);
  return { status: res.status, text: await res.text() };
}

const expected = (bytes: number): string =>
  `${bytes} ${createHash('sha256')
    .update(new Uint8Array(bytes).map((_, i) => i % 251))
    .digest('hex')}`;

const cases = [
  { name: 'within the limit (200 KiB)', bytes: 200 * 1024, streamed: false, status: 200 },
  { name: 'declared over the limit (2 MiB)', bytes: 2 * LIMIT, streamed: false, status: 413 },
  { name: 'streamed over the limit (3 MiB)', bytes: 3 * LIMIT, streamed: true, status: 413 },
  { name: 'exactly the limit, streamed', bytes: LIMIT, streamed: true, status: 200 },
];
let failures = 0;
try {
  for (const c of cases) {
    const { status, text } = await upload(c.bytes, c.streamed);
    const ok = status === c.status && (status !== 200 || text === expected(c.bytes));
    if (!ok) failures++;
    console.log(`${ok ? 'ok' : 'WRONG'}  ${c.name}: ${status} ${text.slice(0, 40)}`);
  }
} finally {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// Every lease went back to the pool, also from the refused uploads.
const inUse = pool.stats().inUseBytes;
console.log(`pool in use after: ${inUse} bytes`);
if (failures > 0 || inUse !== 0) process.exitCode = 1;
