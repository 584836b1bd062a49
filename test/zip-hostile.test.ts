/**
 * Archives whose structures disagree: overlapping entries (Fifield's zip bombs and smaller
 * cousins), lying end records, local headers and data descriptors that contradict the central
 * directory, bytes that belong to no entry. Each is refused through the public API, from every
 * kind of source, before anything is inflated, written or handed to `onEntry`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { BufferPool } from 'slabio';
import { extractZip } from 'slabio/zip';
import yauzl from 'yauzl';
import { eventually, MiB, tempDir } from './helpers.js';
import {
  type Bomb,
  extraFieldQuoting,
  fullOverlap,
  quotedEntry,
  quotedOverlap,
} from './zip-bombs.js';
import {
  buildZip,
  dataDescriptor,
  deflatedEntry,
  extraField,
  type HandEntry,
  zip64Extra,
} from './zip-helpers.js';

const hasUnzip = spawnSync('unzip', ['-v']).status === 0;

function openFds(): number | null {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : null;
}

/**
 * `zip` is refused with `code` and a message matching `pattern` from a Buffer, a path and a
 * stream; nothing is left next to the destination (no staging directory, no spool), no lease is
 * in use, no file stays open and `onEntry` is never called.
 */
async function assertRefused(
  t: TestContext,
  zip: Buffer,
  pattern: RegExp,
  code = 'ERR_SLABIO_UNSAFE_ARCHIVE',
): Promise<void> {
  const parent = await tempDir(t);
  const zipPath = path.join(parent, 'in.zip');
  await writeFile(zipPath, zip);
  const pool = new BufferPool({ maxBytes: 64 * MiB, idleTrimMs: 0 });
  const dest = path.join(parent, 'out');
  const fds = openFds();
  const check = (err: unknown): boolean => {
    assert.equal((err as { code?: string }).code, code, String(err));
    assert.match((err as Error).message, pattern);
    return true;
  };
  for (const source of [() => zip, () => zipPath, () => Readable.from([zip])]) {
    await assert.rejects(extractZip(source(), dest, { pool }), check);
    assert.deepEqual(await readdir(parent), ['in.zip']);
  }
  let handed = 0;
  await assert.rejects(extractZip(zip, null, { pool, onEntry: () => void handed++ }), check);
  assert.equal(handed, 0);
  assert.equal(pool.stats().inUseBytes, 0);
  pool.close();
  // yauzl closes its descriptor with an fs.close it does not wait for, and says nothing after.
  if (fds !== null) await eventually(() => openFds() === fds);
  if (fds !== null) assert.equal(openFds(), fds);
}

const A: HandEntry = { name: 'a.txt', data: Buffer.from('alpha '.repeat(50)) };
const B: HandEntry = { name: 'b.txt', data: Buffer.from('bravo '.repeat(50)) };
const deflated = (e: HandEntry): Buffer => zlib.deflateRawSync(e.data as Buffer);
const crcOf = (e: HandEntry): number => zlib.crc32(e.data as Buffer);

/** The end of central directory record's fields of an archive without comment. */
function eocdOf(zip: Buffer): { cdSize: number; cdOffset: number } {
  return { cdSize: zip.readUInt32LE(zip.length - 10), cdOffset: zip.readUInt32LE(zip.length - 6) };
}

type Case = [string, () => Buffer, RegExp];

function refuseAll(cases: Case[]): void {
  for (const [name, make, pattern] of cases) {
    it(name, async (t) => assertRefused(t, make(), pattern));
  }
}

describe('extractZip: overlapping entries (zip bombs)', () => {
  const bombs: [string, () => Bomb][] = [
    ['full overlap: 61 records, one local header and kernel', () => fullOverlap(61)],
    ['quoted overlap: stored deflate blocks quote the next header', () => quotedOverlap(61)],
    ['extra-field quoting: each header holds the later ones', () => extraFieldQuoting(61)],
    [
      'extra-field quoting spaced past the kernel length (61 MiB from 69 KB)',
      () => extraFieldQuoting(61, 1040),
    ],
    ['header quoting with disjoint data', () => quotedEntry()],
  ];
  for (const [name, make] of bombs) {
    it(name, async (t) => {
      const bomb = make();
      await assertRefused(t, bomb.zip, /overlap \(a non-recursive zip bomb\)/);
    });
  }

  it('the bombs are real: yauzl reads every entry and inflates them to their size and CRC', async () => {
    for (const [name, make] of bombs) {
      const bomb = make();
      const zipfile = await yauzl.fromBufferPromise(bomb.zip, { lazyEntries: true });
      const entries: yauzl.Entry[] = [];
      for await (const entry of zipfile.eachEntry()) entries.push(entry);
      assert.equal(entries.length, bomb.entries, name);
      assert.equal(
        entries.reduce((n, e) => n + e.uncompressedSize, 0),
        bomb.totalBytes,
      );
      if (bomb.entries > 2) assert.ok(bomb.totalBytes > 60 * MiB, name);
      for (const entry of [entries[0], entries.at(-1)] as yauzl.Entry[]) {
        let size = 0;
        let crc = 0;
        for await (const chunk of await zipfile.openReadStreamPromise(entry)) {
          size += (chunk as Buffer).length;
          crc = zlib.crc32(chunk as Buffer, crc);
        }
        assert.equal(size, entry.uncompressedSize, name);
        assert.equal(crc, entry.crc32, name);
      }
      zipfile.close();
    }
  });

  it('unzip -t refuses the same bombs as overlapped components', async (t) => {
    if (!hasUnzip) {
      t.skip('unzip is not installed');
      return;
    }
    const parent = await tempDir(t);
    for (const [name, make] of bombs) {
      const file = path.join(parent, 'bomb.zip');
      await writeFile(file, make().zip);
      const run = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
      assert.equal(run.status, 12, `${name}: ${run.stdout}`);
      assert.match(run.stdout, /overlapped components/, name);
    }
  });

  refuseAll([
    [
      'a stored entry quoting a whole entry in its data',
      () => {
        const inner = deflatedEntry(B.name, B.data as Buffer);
        const outer = Buffer.concat([inner.header, inner.payload]);
        return buildZip([
          { name: 'outer.bin', method: 0, data: outer },
          { ...B, at: 30 + 'outer.bin'.length },
        ]);
      },
      /overlap/,
    ],
    ['two records share a local header', () => buildZip([A, { ...B, shareWith: 0 }]), /overlap/],
    [
      'data that run into the central directory',
      () => buildZip([A, { ...B, compressedSize: deflated(B).length + 40 }]),
      /its data overlap the central directory/,
    ],
    [
      'a local header offset inside the central directory',
      () => {
        const plain = buildZip([A, B]);
        const { cdOffset } = eocdOf(plain);
        return buildZip([A, { ...B, offsetShift: cdOffset - (30 + 5 + deflated(A).length) }]);
      },
      /its local header is not before the central directory/,
    ],
  ]);

  it("Fifield's non-overlapping bomb (separate kernels) is refused by the size limits", async (t) => {
    const kernel = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9 });
    const crc = zlib.crc32(Buffer.alloc(MiB));
    const entries = Array.from({ length: 1100 }, (_, i) => ({
      name: `k${i}`,
      payload: kernel,
      size: MiB,
      crc,
    }));
    await assertRefused(
      t,
      buildZip(entries),
      /archive uncompressed size exceeds the limit/,
      'ERR_SLABIO_LIMIT',
    );
  });
});

describe('extractZip: end records that disagree with the central directory', () => {
  const two = (): Buffer => buildZip([A, B]);
  refuseAll([
    [
      'the end record under-counts (yauzl would read one of two entries)',
      () => buildZip([A, B], { eocd: { entries: 1, entriesOnDisk: 1 } }),
      /the end record counts 1 entries but the central directory holds \d+ bytes more/,
    ],
    [
      'the end record over-counts',
      () => buildZip([A, B], { eocd: { entries: 3, entriesOnDisk: 3 } }),
      /counts 3 entries but the central directory holds 2/,
    ],
    [
      'entries on this disk differ from the total',
      () => buildZip([A, B], { eocd: { entriesOnDisk: 1 } }),
      /counts 1 entries on this disk but 2 in all/,
    ],
    [
      'the central directory size is too large',
      () => buildZip([A, B], { eocd: { cdSize: eocdOf(two()).cdSize + 1 } }),
      /does not end where the end records begin/,
    ],
    [
      'the central directory size is too small',
      () => buildZip([A, B], { eocd: { cdSize: eocdOf(two()).cdSize - 1 } }),
      /does not end where the end records begin/,
    ],
    [
      'the central directory offset skips the first record',
      () => {
        const { cdSize, cdOffset } = eocdOf(two());
        const first = 46 + A.name.length;
        return buildZip([A, B], {
          eocd: {
            entries: 1,
            entriesOnDisk: 1,
            cdOffset: cdOffset + first,
            cdSize: cdSize - first,
          },
        });
      },
      /belong to no entry/,
    ],
    ['this disk is not disk 0', () => buildZip([A], { eocd: { disk: 1 } }), /multi-disk/],
    [
      'the central directory is on another disk',
      () => buildZip([A], { eocd: { cdDisk: 1 } }),
      /multi-disk/,
    ],
    [
      'bytes after the end record',
      () => Buffer.concat([buildZip([A]), Buffer.from('trailing')]),
      /8 bytes follow the end of central directory record/,
    ],
    [
      'a second end record in the comment',
      () => {
        const plain = buildZip([A]);
        return buildZip([A], { comment: plain.subarray(plain.length - 22) });
      },
      /does not end where the end records begin/,
    ],
    [
      'bytes between the central directory and the end record',
      () => buildZip([A], { beforeEnd: Buffer.alloc(4) }),
      /does not end where the end records begin/,
    ],
  ]);

  it('a comment that runs past the end of the file is ERR_SLABIO_BAD_INPUT', async (t) => {
    const zip = buildZip([A]);
    zip.writeUInt16LE(5, zip.length - 2);
    await assertRefused(t, zip, /truncated/, 'ERR_SLABIO_BAD_INPUT');
  });
});

describe('extractZip: zip64 end records that disagree', () => {
  refuseAll([
    [
      'the zip64 record under-counts',
      () => buildZip([A, B], { zip64: { entries: 1, entriesOnDisk: 1 } }),
      /the end record counts 1 entries but the central directory holds/,
    ],
    [
      'zip64 entries on this disk differ from the total',
      () => buildZip([A, B], { zip64: { entriesOnDisk: 1 } }),
      /zip64 end record counts 1 entries on this disk but 2 in all/,
    ],
    [
      'the zip64 record does not end at its locator',
      () => buildZip([A], { zip64: { recordSize: 52 } }),
      /does not end at its locator/,
    ],
    ['the zip64 record is on disk 1', () => buildZip([A], { zip64: { disk: 1 } }), /multi-disk/],
    ['the locator counts two disks', () => buildZip([A], { zip64: { disks: 2 } }), /multi-disk/],
    [
      'the locator points at a local header',
      () => buildZip([A], { zip64: { recordOffset: 0 } }),
      /no zip64 end record where the locator points/,
    ],
    [
      'the zip64 central directory offset lies',
      () => buildZip([A, B], { zip64: { cdOffset: 1 } }),
      /does not end where the end records begin/,
    ],
    [
      'the plain end record disagrees with the zip64 one',
      () => buildZip([A, B], { zip64: true, eocd: { entries: 1, entriesOnDisk: 1 } }),
      /disagrees with the zip64 end record/,
    ],
    [
      'bytes between the central directory and the zip64 record',
      () => buildZip([A], { zip64: true, beforeEnd: Buffer.alloc(8) }),
      /does not end where the end records begin/,
    ],
  ]);
});

describe('extractZip: local headers that contradict the central directory', () => {
  const name = Buffer.from(A.name);
  const unicodePath = (target: string): Buffer => {
    const head = Buffer.alloc(5);
    head.writeUInt8(1, 0);
    head.writeUInt32LE(zlib.crc32(name), 1);
    return extraField(0x7075, Buffer.concat([head, Buffer.from(target)]));
  };
  refuseAll([
    [
      'another name',
      () => buildZip([A, { ...B, local: { name: 'c.txt' } }]),
      /its local header names it "c.txt"/,
    ],
    [
      'another name through a Unicode path field',
      () => buildZip([{ ...A, local: { extra: unicodePath('evil.txt') } }]),
      /its local header names it "evil.txt"/,
    ],
    ['another method', () => buildZip([{ ...A, local: { method: 0 } }]), /says method 0/],
    ['the encryption flag', () => buildZip([{ ...A, local: { flags: 0x801 } }]), /flags 0x801/],
    [
      'the data descriptor flag',
      () => buildZip([{ ...A, local: { flags: 0x808 } }]),
      /flags 0x808/,
    ],
    ['another CRC-32', () => buildZip([{ ...A, local: { crc: 1 } }]), /says CRC-32 1,/],
    [
      'another compressed size',
      () => buildZip([{ ...A, local: { compressedSize: 3 } }]),
      /says compressed size 3,/,
    ],
    ['another size', () => buildZip([{ ...A, local: { size: 7 } }]), /says size 7,/],
    [
      'a size stated beside a data descriptor that differs',
      () => buildZip([{ ...A, descriptor: 'signed', local: { size: 7 } }]),
      /says size 7,/,
    ],
    [
      'a local zip64 field that lies about the compressed size',
      () => {
        const size = (A.data as Buffer).length;
        return buildZip([
          { ...A, zip64: true, local: { extra: zip64Extra([size, deflated(A).length + 100]) } },
        ]);
      },
      /says compressed size \d+, the central directory \d+/,
    ],
    [
      'a local zip64 field too short for the sizes',
      () => buildZip([{ ...A, zip64: true, local: { extra: extraField(1, Buffer.alloc(4)) } }]),
      /local zip64 field is too short/,
    ],
    [
      'two zip64 fields in the central record',
      () => {
        const size = (A.data as Buffer).length;
        return buildZip([
          { ...A, zip64: true, centralExtra: zip64Extra([size, deflated(A).length, 0]) },
        ]);
      },
      /central directory record has duplicate extra fields/,
    ],
    [
      'two Unicode path fields in the local header',
      () =>
        buildZip([
          { ...A, local: { extra: Buffer.concat([unicodePath(A.name), unicodePath('x')]) } },
        ]),
      /local header has duplicate extra fields/,
    ],
    [
      'a malformed local extra field',
      () => buildZip([{ ...A, local: { extra: Buffer.from([0x99, 0x99, 0x10, 0x00, 1, 2]) } }]),
      /local extra field is malformed/,
    ],
    [
      'no local header signature',
      () => {
        const zip = buildZip([A]);
        zip.writeUInt32LE(0x12345678, 0);
        return zip;
      },
      /no local file header at offset 0/,
    ],
  ]);
});

describe('extractZip: data descriptors that lie or are missing', () => {
  const size = (A.data as Buffer).length;
  refuseAll([
    [
      'a descriptor with another CRC-32',
      () => buildZip([{ ...A, descriptor: dataDescriptor('signed', 1, deflated(A).length, size) }]),
      /its data descriptor says CRC-32 1,/,
    ],
    [
      'a descriptor with another size',
      () =>
        buildZip([
          { ...A, descriptor: dataDescriptor('signed64', crcOf(A), deflated(A).length, size + 1) },
        ]),
      /its data descriptor says/,
    ],
    [
      'the descriptor flag without a descriptor',
      () => buildZip([A, { ...B, flags: 0x808 }]),
      /the 0 bytes after its data are not a data descriptor/,
    ],
    [
      '16 bytes that are not a signed descriptor',
      () =>
        buildZip([
          {
            ...A,
            descriptor: Buffer.concat([
              dataDescriptor('unsigned', crcOf(A), deflated(A).length, size),
              Buffer.alloc(4),
            ]),
          },
        ]),
      /not a data descriptor/,
    ],
    [
      'a descriptor followed by padding',
      () => buildZip([{ ...A, descriptor: 'signed', after: Buffer.alloc(8) }, B]),
      /its data descriptor says/,
    ],
    [
      'a descriptor followed by 64 more bytes',
      () => buildZip([{ ...A, descriptor: 'signed', after: Buffer.alloc(64) }, B]),
      /the 80 bytes after its data are not a data descriptor/,
    ],
  ]);
});

describe('extractZip: bytes that belong to no entry', () => {
  const { header, payload } = deflatedEntry('hidden.txt', B.data as Buffer);
  const hidden = Buffer.concat([header, payload]);
  refuseAll([
    [
      'prepended data (a self-extractor stub, offsets adjusted as zip -A does)',
      () => buildZip([A, B], { prepend: Buffer.from('#!/bin/sh\nexec unzip "$0"\n') }),
      /bytes before it at the start of the archive \(prepended data/,
    ],
    [
      'a gap between two entries',
      () => buildZip([{ ...A, after: Buffer.alloc(100) }, B]),
      /100 bytes between entry "a.txt" and it belong to no entry/,
    ],
    [
      'an entry only a forward scan sees, between two listed ones',
      () => buildZip([{ ...A, after: hidden }, B]),
      /bytes between entry "a.txt" and it belong to no entry/,
    ],
    [
      'bytes between the last entry and the central directory',
      () => buildZip([A, { ...B, after: Buffer.alloc(7) }]),
      /7 bytes between entry "b.txt" and the central directory belong to no entry/,
    ],
    [
      'an empty archive after prepended data',
      () => buildZip([], { prepend: Buffer.alloc(10) }),
      /10 bytes between the start of the archive and the central directory/,
    ],
  ]);
  // A check that the record writers above are not what is refused: the same shapes, honest.
  it('the honest versions of these archives extract', async (t) => {
    const parent = await tempDir(t);
    const honest = [
      buildZip([A, B]),
      buildZip([A, B], { zip64: true }),
      buildZip([{ ...A, descriptor: 'signed' }, B]),
      buildZip([]),
    ];
    for (const [i, zip] of honest.entries()) {
      const result = await extractZip(zip, path.join(parent, `ok-${i}`));
      assert.equal(result.entries, i === 3 ? 0 : 2);
    }
  });
});
