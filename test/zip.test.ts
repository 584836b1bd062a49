import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  BadInputError,
  BufferPool,
  DestinationError,
  type Lease,
  LimitExceededError,
  UnsafeArchiveError,
} from 'slabio';
import { type ExtractZipOptions, extractZip, type ZipEntry } from 'slabio/zip';
import { zeroBomb } from './decompress-helpers.js';
import { GiB, KiB, MiB, noise, sha256, tempDir } from './helpers.js';
import { buildZip, type HandEntry, tree, yazlZip } from './zip-helpers.js';

function newPool(): BufferPool {
  return new BufferPool({ maxBytes: 128 * MiB, idleTrimMs: 0 });
}

function openFds(): number | null {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : null;
}

/** Everything left in `parent` besides `keep`: must be nothing (no staging dir, no spool). */
async function leftovers(parent: string, keep: string[] = []): Promise<string[]> {
  return (await readdir(parent)).filter((n) => !keep.includes(n));
}

const FILES: Record<string, Buffer | null> = {
  'readme.txt': Buffer.from('hello zip\n'),
  'images/': null,
  'images/a.bin': noise(300 * KiB, 1),
  'images/deep/b.bin': noise(64 * KiB + 1, 2),
  'empty.txt': Buffer.alloc(0),
  'empty-dir/': null,
  'unicode/名前 ü.txt': Buffer.from('utf-8 name'),
  // 1000:1, but under the 1 MiB below which ratios are not judged.
  'zeros.bin': Buffer.alloc(512 * KiB),
};

function expectedTree(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, data] of Object.entries(FILES)) {
    const parts = name.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) out[parts.slice(0, i).join('/')] = 'dir';
    out[parts.join('/')] = data === null ? 'dir' : sha256(data);
  }
  return out;
}

function refusal(code: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof Error, String(err));
    assert.equal((err as { code?: string }).code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('extractZip: real archives', () => {
  it('extracts a yazl archive from every source kind; content matches by hash; nothing left behind', async (t) => {
    const parent = await tempDir(t);
    const zip = await yazlZip(FILES);
    const zipPath = path.join(parent, 'in.zip');
    await writeFile(zipPath, zip);
    const pool = newPool();
    const lease = pool.acquire(zip.length);
    zip.copy(lease.buffer);
    const fds = openFds();
    const sources: [string, () => unknown][] = [
      ['path', () => zipPath],
      ['Buffer', () => zip],
      ['Uint8Array', () => new Uint8Array(zip)],
      ['Lease', () => lease],
      ['Readable', () => Readable.from([zip.subarray(0, 1000), zip.subarray(1000)])],
      ['web stream', () => Readable.toWeb(Readable.from([zip]))],
    ];
    for (const [kind, make] of sources) {
      const dest = path.join(parent, `out-${kind}`);
      const result = await extractZip(make() as Buffer, dest);
      assert.deepEqual(await tree(dest), expectedTree(), kind);
      assert.deepEqual(result, {
        destination: dest,
        entries: Object.keys(FILES).length,
        files: 6,
        bytes: Object.values(FILES).reduce((n, d) => n + (d?.length ?? 0), 0),
      });
    }
    assert.equal(lease.released, false);
    lease.release();
    assert.deepEqual(
      (await leftovers(parent)).sort(),
      ['in.zip', ...sources.map(([k]) => `out-${k}`)].sort(),
    );
    if (fds !== null) assert.equal(openFds(), fds);
  });

  it('extracts an Info-ZIP archive when the zip tool is installed', async (t) => {
    if (spawnSync('zip', ['-v']).status !== 0) {
      t.skip('the zip command is not installed');
      return;
    }
    const parent = await tempDir(t);
    const src = path.join(parent, 'src');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    await writeFile(path.join(src, 'sub', 'x.bin'), noise(100 * KiB, 3));
    await writeFile(path.join(src, 'y.txt'), 'info-zip');
    const zipPath = path.join(parent, 'a.zip');
    assert.equal(spawnSync('zip', ['-qr', zipPath, '.'], { cwd: src }).status, 0);
    await extractZip(zipPath, path.join(parent, 'out'));
    assert.deepEqual(await tree(path.join(parent, 'out')), await tree(src));
  });

  it('an empty existing destination is filled; a non-empty one or a file is refused and untouched', async (t) => {
    const parent = await tempDir(t);
    const zip = buildZip([{ name: 'a.txt', data: Buffer.from('a') }]);
    await mkdir(path.join(parent, 'empty'));
    await extractZip(zip, path.join(parent, 'empty'));
    assert.equal(await readFile(path.join(parent, 'empty', 'a.txt'), 'utf8'), 'a');
    await mkdir(path.join(parent, 'full'));
    await writeFile(path.join(parent, 'full', 'keep.txt'), 'mine');
    await assert.rejects(extractZip(zip, path.join(parent, 'full')), (err: unknown) => {
      assert.ok(err instanceof DestinationError);
      assert.equal(err.code, 'ERR_SLABIO_DESTINATION');
      assert.equal(err.reason, 'not-empty');
      assert.equal(err.destination, path.join(parent, 'full'));
      return true;
    });
    assert.deepEqual(await tree(path.join(parent, 'full')), {
      'keep.txt': sha256(Buffer.from('mine')),
    });
    await writeFile(path.join(parent, 'file'), 'x');
    await assert.rejects(extractZip(zip, path.join(parent, 'file')), {
      code: 'ERR_SLABIO_DESTINATION',
      reason: 'not-directory',
      message: /is not a directory/,
    });
    assert.deepEqual((await leftovers(parent)).sort(), ['empty', 'file', 'full']);
  });
});

describe('extractZip: the destination', () => {
  it('a stream source under missing parents is spooled there; on failure the parents go again', async (t) => {
    const parent = await tempDir(t);
    const zip = buildZip([{ name: 'a.txt', data: Buffer.from('a') }]);
    const dest = path.join(parent, 'new', 'sub', 'dest');
    const result = await extractZip(Readable.from([zip]), dest);
    assert.equal(result.files, 1);
    assert.equal(await readFile(path.join(dest, 'a.txt'), 'utf8'), 'a');
    assert.deepEqual(await leftovers(path.join(parent, 'new', 'sub')), ['dest']);

    const bad = path.join(parent, 'other', 'sub', 'dest');
    await assert.rejects(
      extractZip(Readable.from([Buffer.from('not a zip at all')]), bad),
      refusal('ERR_SLABIO_BAD_INPUT'),
    );
    assert.deepEqual(await leftovers(parent), ['new']);
  });

  it('a symbolic link (to an empty directory, or dangling) is refused up front (ERR_SLABIO_DESTINATION)', async (t) => {
    const parent = await tempDir(t);
    const zip = buildZip([{ name: 'a.txt', data: Buffer.from('a') }]);
    await mkdir(path.join(parent, 'real'));
    await symlink(path.join(parent, 'real'), path.join(parent, 'link'));
    await symlink(path.join(parent, 'nowhere'), path.join(parent, 'dangling'));
    for (const name of ['link', 'dangling']) {
      for (const source of [zip, Readable.from([zip])]) {
        await assert.rejects(extractZip(source, path.join(parent, name)), (err: unknown) => {
          assert.ok(err instanceof DestinationError, String(err));
          assert.equal(err.reason, 'symbolic-link');
          assert.match(err.message, /is a symbolic link/);
          return true;
        });
        assert.ok((await lstat(path.join(parent, name))).isSymbolicLink());
      }
    }
    assert.deepEqual(await readdir(path.join(parent, 'real')), []);
    assert.deepEqual((await leftovers(parent)).sort(), ['dangling', 'link', 'real']);
  });
});

describe('extractZip: malicious archives are refused and leave nothing behind', () => {
  const fine: HandEntry = { name: 'fine.txt', data: Buffer.from('written first') };
  const cases: [string, HandEntry[], string, RegExp, ExtractZipOptions?][] = [
    [
      '../ traversal',
      [fine, { name: '../evil.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /path traversal/,
    ],
    [
      'nested traversal',
      [fine, { name: 'a/../../evil.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /path traversal/,
    ],
    [
      'absolute path',
      [fine, { name: '/tmp/evil.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /absolute/,
    ],
    [
      'drive letter',
      [fine, { name: 'C:/evil.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /drive letter/,
    ],
    [
      'backslash traversal',
      [fine, { name: '..\\evil.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /backslash/,
    ],
    [
      'NUL in name',
      [fine, { name: 'a\0.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /NUL/,
    ],
    [
      'a name segment longer than NAME_MAX',
      [fine, { name: `d/${'a'.repeat(256)}`, data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /longer than 255 bytes/,
    ],
    [
      'a multi-byte segment over 255 bytes in UTF-8',
      [fine, { name: 'é'.repeat(128), data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /longer than 255 bytes/,
    ],
    [
      'a name longer than PATH_MAX',
      [fine, { name: 'a/'.repeat(2100) + 'x', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /longer than 4095 bytes/,
    ],
    [
      'symlink',
      [fine, { name: 'link', data: Buffer.from('/etc/passwd'), method: 0, mode: 0o120777 }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /symbolic link/,
    ],
    ['fifo', [fine, { name: 'pipe', mode: 0o010644 }], 'ERR_SLABIO_UNSAFE_ARCHIVE', /special file/],
    [
      'duplicate',
      [fine, { name: 'fine.txt', data: Buffer.from('again') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /duplicate/,
    ],
    [
      'duplicate after ./',
      [fine, { name: './fine.txt', data: Buffer.from('again') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /duplicate/,
    ],
    [
      'duplicate after //',
      [
        { name: 'a/b', data: Buffer.from('1') },
        { name: 'a//b', data: Buffer.from('2') },
      ],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /duplicate/,
    ],
    [
      'case duplicate with foldCase',
      [fine, { name: 'FINE.txt', data: Buffer.from('x') }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /duplicate/,
      { foldCase: true },
    ],
    [
      'file where a directory is needed',
      [
        { name: 'a', data: Buffer.from('1') },
        { name: 'a/b', data: Buffer.from('2') },
      ],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /which is a file/,
    ],
    [
      'overlapping entries',
      [
        { name: 'k', data: Buffer.alloc(1000) },
        { name: 'k2', data: Buffer.alloc(1000), shareWith: 0 },
      ],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /overlap/,
    ],
    [
      'too many entries',
      [fine, { name: 'b' }, { name: 'c' }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /3 entries, more than maxEntries 2/,
      { maxEntries: 2 },
    ],
    [
      'entry past maxEntryBytes',
      [fine, { name: 'big', data: noise(20 * KiB) }],
      'ERR_SLABIO_LIMIT',
      /entry "big" exceeds the limit of 10240/,
      { maxEntryBytes: 10 * KiB },
    ],
    [
      'total past maxTotalBytes',
      [
        { name: 'a', data: noise(6 * KiB) },
        { name: 'b', data: noise(6 * KiB) },
      ],
      'ERR_SLABIO_LIMIT',
      /archive uncompressed size exceeds the limit of 10240 bytes \(12288/,
      { maxTotalBytes: 10 * KiB },
    ],
    [
      'CRC mismatch (found while extracting, after a good file)',
      [fine, { name: 'bad.txt', data: Buffer.from('payload'), crc: 1234 }],
      'ERR_SLABIO_BAD_INPUT',
      /CRC-32/,
    ],
    [
      'shorter than declared',
      [fine, { name: 'short', data: Buffer.from('abc'), size: 10 }],
      'ERR_SLABIO_BAD_INPUT',
      /truncated: 3 of 10 bytes/,
    ],
    [
      'stored size mismatch',
      [fine, { name: 'st', data: Buffer.from('abcdef'), method: 0, size: 3 }],
      'ERR_SLABIO_UNSAFE_ARCHIVE',
      /it is stored, but its compressed size 6 is not its size 3/,
    ],
    [
      'corrupt deflate data',
      [
        fine,
        {
          name: 'junk',
          data: Buffer.from('x'.repeat(100)),
          payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
        },
      ],
      'ERR_SLABIO_BAD_INPUT',
      /corrupt/,
    ],
    [
      'encrypted entry',
      [fine, { name: 'secret', data: Buffer.from('x'), flags: 0x801 }],
      'ERR_SLABIO_BAD_INPUT',
      /encrypted/,
    ],
    [
      'unsupported method',
      [fine, { name: 'bz', data: Buffer.from('x'), method: 12, payload: Buffer.from('x') }],
      'ERR_SLABIO_BAD_INPUT',
      /compression method 12/,
    ],
  ];
  for (const [name, entries, code, pattern, options] of cases) {
    it(name, async (t) => {
      const parent = await tempDir(t);
      const pool = newPool();
      const dest = path.join(parent, 'out');
      await assert.rejects(
        extractZip(buildZip(entries), dest, { pool, ...options }),
        refusal(code, pattern),
      );
      assert.deepEqual(await leftovers(parent), []);
      assert.equal(pool.stats().inUseBytes, 0);
      // The same archive handed entry by entry fails the same way.
      await assert.rejects(
        extractZip(buildZip(entries), null, { pool, ...options, onEntry: () => undefined }),
        refusal(code, pattern),
      );
      assert.equal(pool.stats().inUseBytes, 0);
    });
  }

  it('without foldCase, names that differ in case are two files', async (t) => {
    const parent = await tempDir(t);
    const zip = buildZip([
      { name: 'A.txt', data: Buffer.from('1') },
      { name: 'a.txt', data: Buffer.from('2') },
    ]);
    await extractZip(zip, path.join(parent, 'out'), { foldCase: false });
    assert.deepEqual(Object.keys(await tree(path.join(parent, 'out'))).sort(), ['A.txt', 'a.txt']);
  });

  it('truncated and non-zip input is ERR_SLABIO_BAD_INPUT', async (t) => {
    const parent = await tempDir(t);
    const zip = await yazlZip(FILES);
    const inputs: [string, Buffer][] = [
      ['half', zip.subarray(0, zip.length >> 1)],
      ['without the last 10 bytes', zip.subarray(0, zip.length - 10)],
      ['empty', Buffer.alloc(0)],
      ['not a zip', noise(5000)],
    ];
    for (const [name, input] of inputs) {
      await assert.rejects(extractZip(input, path.join(parent, 'out')), (err: unknown) => {
        assert.ok(err instanceof BadInputError, `${name}: ${err}`);
        return true;
      });
      await assert.rejects(
        extractZip(Readable.from([input]), path.join(parent, 'out')),
        BadInputError,
      );
    }
    // Cut inside the central directory with a forged end record: the entry data overflow the file.
    assert.deepEqual(await leftovers(parent), []);
  });
});

describe('extractZip: bombs', () => {
  it('an honest 1 GiB entry is refused from its declared size before anything is written', async (t) => {
    const parent = await tempDir(t);
    const payload = await zeroBomb('deflate-raw', GiB);
    const zip = buildZip([{ name: 'bomb.bin', payload, size: GiB, crc: 0 }]);
    assert.ok(zip.length < 2 * MiB);
    const dest = path.join(parent, 'out');
    await assert.rejects(extractZip(zip, dest), refusal('ERR_SLABIO_LIMIT', /max ratio 100:1/));
    await assert.rejects(
      extractZip(zip, dest, { maxRatio: Number.POSITIVE_INFINITY, maxTotalBytes: 64 * MiB }),
      (err: unknown) =>
        err instanceof LimitExceededError && err.limit === 64 * MiB && err.bytesRead === GiB,
    );
    assert.deepEqual(await leftovers(parent), []);
  });

  it('an entry that lies about its size stops at the first byte past it', async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const payload = await zeroBomb('deflate-raw', GiB);
    // Declares 1000 bytes (so every limit passes) and inflates to 1 GiB.
    const zip = buildZip([
      { name: 'fine.txt', data: Buffer.from('ok') },
      { name: 'liar.bin', payload, size: 1000, crc: 0 },
    ]);
    const dest = path.join(parent, 'out');
    await assert.rejects(extractZip(zip, dest, { pool }), (err: unknown) => {
      assert.ok(err instanceof UnsafeArchiveError);
      assert.equal(err.entry, 'liar.bin');
      assert.match(err.message, /inflates past its declared size of 1000 bytes/);
      return true;
    });
    let handed = 0;
    await assert.rejects(
      extractZip(zip, null, { pool, onEntry: () => void handed++ }),
      UnsafeArchiveError,
    );
    assert.equal(handed, 1);
    assert.equal(pool.stats().inUseBytes, 0);
    assert.deepEqual(await leftovers(parent), []);
  });

  it('a stream longer than maxArchiveBytes is refused while spooling; the spool is removed', async (t) => {
    const parent = await tempDir(t);
    const zip = await yazlZip(FILES);
    await assert.rejects(
      extractZip(Readable.from([zip]), path.join(parent, 'out'), { maxArchiveBytes: 1000 }),
      (err: unknown) => err instanceof LimitExceededError && err.limit === 1000,
    );
    await assert.rejects(
      extractZip(zip, path.join(parent, 'out'), { maxArchiveBytes: 1000 }),
      LimitExceededError,
    );
    assert.deepEqual(await leftovers(parent), []);
  });
});

describe('extractZip: onEntry', () => {
  it('hands every file as a lease in archive order and releases it afterwards', async () => {
    const pool = newPool();
    const zip = await yazlZip(FILES);
    const seen: Record<string, string> = {};
    const leases: Lease[] = [];
    const result = await extractZip(zip, null, {
      pool,
      onEntry(entry, lease) {
        assert.equal(lease.buffer.length, entry.size);
        assert.ok(pool.stats().inUseBytes >= entry.size);
        seen[entry.name] = sha256(lease.buffer);
        leases.push(lease);
        return undefined;
      },
    });
    const files = Object.entries(FILES).filter(([, d]) => d !== null);
    assert.deepEqual(seen, Object.fromEntries(files.map(([n, d]) => [n, sha256(d as Buffer)])));
    assert.ok(leases.every((l) => l.released));
    assert.equal(pool.stats().inUseBytes, 0);
    assert.deepEqual(result, { destination: null, entries: 8, files: 0, bytes: result.bytes });
  });

  it('takeLease() keeps a lease; releasing it inside the callback is fine too', async () => {
    const pool = newPool();
    const zip = buildZip([
      { name: 'keep', data: Buffer.from('kept') },
      { name: 'drop', data: Buffer.from('dropped') },
    ]);
    const kept: Lease[] = [];
    await extractZip(zip, null, {
      pool,
      onEntry(entry: ZipEntry, lease) {
        if (entry.name === 'keep') kept.push(entry.takeLease());
        else lease.release();
        return undefined;
      },
    });
    assert.equal(kept.length, 1);
    assert.equal((kept[0] as Lease).buffer.toString(), 'kept');
    (kept[0] as Lease).release();
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('returned outputs are written atomically under the destination', async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = await yazlZip(FILES);
    const dest = path.join(parent, 'thumbs');
    const result = await extractZip(zip, dest, {
      pool,
      onEntry: (entry, lease) => ({ name: `${entry.name}.copy`, data: lease }),
    });
    assert.equal(result.files, 6);
    const expected: Record<string, string> = {};
    for (const [rel, hash] of Object.entries(expectedTree())) {
      if (hash !== 'dir') expected[`${rel}.copy`] = hash;
    }
    const got = Object.fromEntries(Object.entries(await tree(dest)).filter(([, h]) => h !== 'dir'));
    assert.deepEqual(got, expected);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('unsafe or duplicate outputs are refused; outputs without a destination are a TypeError', async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = buildZip([
      { name: 'a', data: Buffer.from('1') },
      { name: 'b', data: Buffer.from('2') },
    ]);
    const dest = path.join(parent, 'out');
    await assert.rejects(
      extractZip(zip, dest, {
        pool,
        onEntry: () => ({ name: '../escape', data: Buffer.from('x') }),
      }),
      refusal('ERR_SLABIO_UNSAFE_ARCHIVE', /output name "..\/escape" is unsafe/),
    );
    await assert.rejects(
      extractZip(zip, dest, { pool, onEntry: () => ({ name: 'same', data: Buffer.from('x') }) }),
      refusal('ERR_SLABIO_UNSAFE_ARCHIVE', /duplicate/),
    );
    await assert.rejects(
      extractZip(zip, null, { pool, onEntry: (_e, lease) => ({ name: 'x', data: lease }) }),
      /no destination/,
    );
    assert.deepEqual(await leftovers(parent), []);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it('a refused output releases its own lease (not the entry\'s) and names it "output"', async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = buildZip([
      { name: 'a.jpg', data: Buffer.from('1') },
      { name: 'a.png', data: Buffer.from('2') },
    ]);
    const own = (name: unknown) => () => {
      const data = pool.acquire(100);
      data.buffer.fill(1);
      return { name, data } as { name: string; data: Lease };
    };
    const dest = path.join(parent, 'out');
    await assert.rejects(
      extractZip(zip, dest, { pool, onEntry: own('../evil') }),
      refusal('ERR_SLABIO_UNSAFE_ARCHIVE', /output name "..\/evil" is unsafe/),
    );
    assert.equal(pool.stats().inUseBytes, 0, 'unsafe name');
    await assert.rejects(
      extractZip(zip, dest, { pool, onEntry: own('a.webp') }),
      refusal('ERR_SLABIO_UNSAFE_ARCHIVE', /^output "a\.webp" is a duplicate name$/),
    );
    assert.equal(pool.stats().inUseBytes, 0, 'duplicate');
    await assert.rejects(extractZip(zip, null, { pool, onEntry: own('x') }), /no destination/);
    assert.equal(pool.stats().inUseBytes, 0, 'no destination');
    await assert.rejects(extractZip(zip, dest, { pool, onEntry: own(42) }), TypeError);
    assert.equal(pool.stats().inUseBytes, 0, 'no name');
    assert.deepEqual(await leftovers(parent), []);
  });

  it("the callback's own error passes through unchanged and nothing is left", async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = await yazlZip(FILES);
    const mine = new Error('thumbnailer failed');
    let calls = 0;
    await assert.rejects(
      extractZip(zip, path.join(parent, 'out'), {
        pool,
        onEntry: async (entry, lease) => {
          if (++calls === 3) throw mine;
          return { name: entry.name, data: lease };
        },
      }),
      (err) => err === mine,
    );
    assert.deepEqual(await leftovers(parent), []);
    assert.equal(pool.stats().inUseBytes, 0);
  });
});

describe('extractZip: aborts and arguments', () => {
  it('an aborted signal rejects with its reason', async (t) => {
    const parent = await tempDir(t);
    const reason = new Error('shutting down');
    await assert.rejects(
      extractZip(buildZip([{ name: 'a' }]), path.join(parent, 'o'), {
        signal: AbortSignal.abort(reason),
      }),
      (err) => err === reason,
    );
    assert.deepEqual(await leftovers(parent), []);
  });

  it('aborting while a stream is spooled removes the spool', async (t) => {
    const parent = await tempDir(t);
    const zip = await yazlZip(FILES);
    const controller = new AbortController();
    async function* source(): AsyncGenerator<Buffer> {
      yield zip.subarray(0, 1000);
      controller.abort(new Error('client went away'));
      await new Promise((r) => setTimeout(r, 5));
      yield zip.subarray(1000);
    }
    await assert.rejects(
      extractZip(source(), path.join(parent, 'o'), { signal: controller.signal }),
      /client went away/,
    );
    assert.deepEqual(await leftovers(parent), []);
  });

  it('aborting during extraction removes the staging directory and releases leases', async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = await yazlZip(FILES);
    const controller = new AbortController();
    await assert.rejects(
      extractZip(zip, path.join(parent, 'o'), {
        pool,
        signal: controller.signal,
        onEntry: (entry, lease) => {
          controller.abort(new Error('deadline'));
          return { name: entry.name, data: lease };
        },
      }),
      /deadline/,
    );
    assert.deepEqual(await leftovers(parent), []);
    assert.equal(pool.stats().inUseBytes, 0);
  });

  it("a stream of chunks that are not bytes is a TypeError; a Lease chunk stays its owner's", async (t) => {
    const parent = await tempDir(t);
    const pool = newPool();
    const zip = await yazlZip(FILES);
    const lease = pool.acquire(64 * KiB);
    // A lease is not a chunk: counted by `.length` it would slip past maxArchiveBytes.
    for (const chunk of [lease, 7, { length: 3 }]) {
      await assert.rejects(
        extractZip(Readable.from([zip.subarray(0, 100), chunk]), path.join(parent, 'o'), {
          maxArchiveBytes: 1000,
        }),
        /TypeError: source produced a chunk that is not bytes or a string/,
      );
    }
    assert.equal(lease.released, false);
    lease.release();
    assert.equal(pool.stats().inUseBytes, 0);
    assert.deepEqual(await leftovers(parent), []);
  });

  it('bad arguments name what is wrong', async () => {
    const zip = buildZip([{ name: 'a' }]);
    await assert.rejects(extractZip(42 as never, 'x'), /source must be .* got number/);
    await assert.rejects(extractZip(zip, ''), /destinationDir must be a non-empty string/);
    await assert.rejects(extractZip(zip, null), /only be null when options.onEntry/);
    await assert.rejects(extractZip(zip, 'x', { maxEntries: -1 }), RangeError);
    await assert.rejects(
      extractZip(zip, 'x', { maxRatio: 0 }),
      /options.maxRatio must be a number >= 1/,
    );
    await assert.rejects(
      extractZip(zip, 'x', { onEntry: 'no' as never }),
      /options.onEntry must be a function/,
    );
    await assert.rejects(
      extractZip(zip, 'x', { foldCase: 'yes' as never }),
      /options.foldCase must be a boolean/,
    );
    await assert.rejects(
      extractZip(zip, 'x', { pool: {} as never }),
      /options.pool must be a BufferPool/,
    );
  });
});
