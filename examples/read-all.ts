/**
 * Pooled file reads: a file read into one lease, hashed in borrowed chunks, and copied through a
 * ring of pool blocks. Reading an HTTP body under a limit is `examples/http-upload.ts`.
 *
 * Run: `npx tsc -p . && node dist/examples/read-all.js`
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BufferPool, pump, readChunks, readFilePooled } from 'slabio';

const pool = new BufferPool({ maxBytes: 64 * 1024 * 1024 });

// Read a file into one lease, hash it in borrowed chunks, copy it with pump.
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
  if (copied !== whole.buffer.length) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Everything went back to the pool: `using` released the leases.
console.log('pool in use after:', pool.stats().inUseBytes, 'bytes');
if (pool.stats().inUseBytes !== 0) process.exitCode = 1;
