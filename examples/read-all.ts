/**
 * Bounded, pooled reads: an HTTP upload handler with a size limit, a file read into one lease,
 * a file hashed in borrowed chunks, and a file copy through a ring of pool blocks.
 *
 * Run: `npx tsc -p . && node dist/examples/read-all.js`
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BufferPool, LimitExceededError, pump, readAll, readChunks, readFilePooled } from 'slabio';

const pool = new BufferPool({ maxBytes: 64 * 1024 * 1024 });

// 1. An upload handler: the body lands in one pooled lease; over 1 MiB is refused with 413.
const server = http.createServer(async (req, res) => {
  try {
    using body = await readAll(req, { pool, maxBytes: 1024 * 1024 });
    const digest = createHash('sha256').update(body.buffer).digest('hex').slice(0, 16);
    res.end(`received ${body.buffer.length} bytes, sha256 ${digest}…\n`);
  } catch (err) {
    if (!(err instanceof LimitExceededError)) throw err;
    // connection: close makes Node drop the rest of the upload instead of waiting for it.
    res.writeHead(413, { connection: 'close' }).end(`body over ${err.limit} bytes\n`);
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

async function upload(bytes: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    body: new Uint8Array(bytes).fill(42),
  });
  return `${res.status} ${await res.text()}`.trim();
}
console.log('upload 200 KiB ->', await upload(200 * 1024));
console.log('upload 2 MiB   ->', await upload(2 * 1024 * 1024));
console.log('upload 10 B    ->', await upload(10));
await new Promise<void>((resolve) => server.close(() => resolve()));

// 2. Files: read one into a lease, hash it in borrowed chunks, copy it with pump.
const dir = await mkdtemp(path.join(os.tmpdir(), 'slabio-example-'));
try {
  const file = path.join(dir, 'input.bin');
  await writeFile(file, Buffer.alloc(3 * 1024 * 1024 + 5, 7));

  using whole = await readFilePooled(file, { pool });
  console.log(`readFilePooled: ${whole.buffer.length} bytes in a ${whole.capacity}-byte block`);

  const hash = createHash('sha256');
  let chunks = 0;
  for await (const chunk of readChunks(file, { pool, blockSize: 256 * 1024 })) {
    hash.update(chunk); // the chunk is only valid until the next iteration
    chunks++;
  }
  console.log(`readChunks: ${chunks} chunks, sha256 ${hash.digest('hex').slice(0, 16)}…`);

  const copied = await pump(file, createWriteStream(path.join(dir, 'copy.bin')), { pool });
  console.log(`pump: copied ${copied} bytes`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Everything went back to the pool: `using` released the leases.
console.log('pool in use after:', pool.stats().inUseBytes, 'bytes');
if (pool.stats().inUseBytes !== 0) process.exitCode = 1;
