/**
 * Archives as real tools write them still extract under the layout checks: yazl with and without
 * data descriptors and zip64, Info-ZIP's zip streaming to a pipe and forcing zip64, and hand-made
 * archives with every data descriptor form, local zip64 fields, comments, empty files and
 * directories. Where unzip is installed it is asked to agree.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { extractZip } from 'slabio/zip';
import { KiB, noise, sha256, tempDir } from './helpers.js';
import { buildZip, type HandEntry, tree, yazlZip } from './zip-helpers.js';

const hasUnzip = spawnSync('unzip', ['-v']).status === 0;
const hasZip = spawnSync('zip', ['-v']).status === 0;

const FILES: Record<string, Buffer | null> = {
  'readme.txt': Buffer.from('hello zip\n'),
  'images/': null,
  'images/a.bin': noise(300 * KiB, 1),
  'images/b.bin': noise(64 * KiB + 1, 2),
  'empty.txt': Buffer.alloc(0),
  'empty-dir/': null,
  'zeros.bin': Buffer.alloc(200 * KiB),
};

function expected(files: Record<string, Buffer | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, data] of Object.entries(files)) {
    const parts = name.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) out[parts.slice(0, i).join('/')] = 'dir';
    out[parts.join('/')] = data === null ? 'dir' : sha256(data);
  }
  return out;
}

/** `zip` extracts to `files`, and unzip -t (when installed) finds no fault in it either. */
async function assertExtracts(
  t: TestContext,
  zip: Buffer,
  files: Record<string, Buffer | null>,
): Promise<void> {
  const parent = await tempDir(t);
  const dest = path.join(parent, 'out');
  const result = await extractZip(zip, dest);
  assert.equal(result.entries, Object.keys(files).length);
  assert.deepEqual(await tree(dest), expected(files));
  if (hasUnzip) {
    const file = path.join(parent, 'in.zip');
    await writeFile(file, zip);
    const run = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout);
  }
}

describe('extractZip: archives as real tools write them', () => {
  const variants: [string, { streamed?: boolean; zip64?: boolean }][] = [
    ['yazl, sizes known', {}],
    ['yazl, streamed (data descriptors)', { streamed: true }],
    ['yazl, zip64 forced', { zip64: true }],
    ['yazl, streamed and zip64 forced (8-byte descriptors)', { streamed: true, zip64: true }],
  ];
  for (const [name, options] of variants) {
    it(name, async (t) => assertExtracts(t, await yazlZip(FILES, options), FILES));
  }

  it('Info-ZIP zip: to a pipe (data descriptors), stored, and with zip64 forced', async (t) => {
    if (!hasZip) {
      t.skip('the zip command is not installed');
      return;
    }
    const parent = await tempDir(t);
    const src = path.join(parent, 'src');
    await mkdir(path.join(src, 'sub'), { recursive: true });
    await writeFile(path.join(src, 'sub', 'x.bin'), noise(100 * KiB, 3));
    await writeFile(path.join(src, 'y.txt'), 'info-zip');
    await writeFile(path.join(src, 'empty'), '');
    // To a pipe Info-ZIP cannot seek back, so it writes data descriptors. (Its zip64 output to a
    // pipe is broken: an end record pointing at 0xFFFFFFFF without zip64 records; unzip refuses
    // it too. So zip64 is forced on a file.)
    const made: [string, string[]][] = [
      ['pipe', ['-qr', '-', '.']],
      ['pipe, stored', ['-qr0', '-', '.']],
      ['file, zip64 forced', ['-qr', '-fz', path.join(parent, 'z64.zip'), '.']],
    ];
    for (const [how, args] of made) {
      const run = spawnSync('zip', args, { cwd: src, maxBuffer: 1 << 24 });
      assert.equal(run.status, 0, String(run.stderr));
      const zip = args.includes('-') ? run.stdout : await readFile(path.join(parent, 'z64.zip'));
      const dest = path.join(parent, `out-${made.findIndex(([h]) => h === how)}`);
      await extractZip(zip, dest);
      assert.deepEqual(await tree(dest), await tree(src), how);
    }
  });
});

describe('extractZip: hand-made archives every reader accepts', () => {
  const a: HandEntry = { name: 'a.txt', data: Buffer.from('alpha '.repeat(40)) };
  const b: HandEntry = { name: 'b.bin', data: noise(5000), method: 0 };
  const files = { 'a.txt': a.data as Buffer, 'b.bin': b.data as Buffer };
  const kinds = ['signed', 'unsigned', 'signed64', 'unsigned64'] as const;
  for (const kind of kinds) {
    it(`data descriptors: ${kind}`, async (t) => {
      const zip = buildZip([
        { ...a, descriptor: kind },
        { ...b, descriptor: kind },
      ]);
      await assertExtracts(t, zip, files);
    });
  }

  it('a data descriptor beside sizes the local header states as well', async (t) => {
    const size = (a.data as Buffer).length;
    const local = { crc: 0, size };
    await assertExtracts(t, buildZip([{ ...a, descriptor: 'signed', local }, b]), files);
  });

  it('zip64 everywhere: central and local zip64 fields, zip64 end records', async (t) => {
    const zip = buildZip(
      [
        { ...a, zip64: true },
        { ...b, zip64: true, descriptor: 'signed64' },
      ],
      { zip64: true },
    );
    await assertExtracts(t, zip, files);
  });

  it('an archive comment, an empty file, a directory, and an empty archive', async (t) => {
    const zip = buildZip([a, { name: 'empty' }, { name: 'dir/' }], {
      comment: Buffer.from('made by hand'),
    });
    await assertExtracts(t, zip, {
      'a.txt': a.data as Buffer,
      empty: Buffer.alloc(0),
      'dir/': null,
    });
    const parent = await tempDir(t);
    const result = await extractZip(buildZip([]), path.join(parent, 'none'));
    assert.deepEqual(result.entries, 0);
    assert.deepEqual(await tree(path.join(parent, 'none')), {});
  });

  it('a path source with data descriptors, read through one file descriptor', async (t) => {
    const parent = await tempDir(t);
    const file = path.join(parent, 'in.zip');
    await writeFile(file, await yazlZip(FILES, { streamed: true }));
    await extractZip(file, path.join(parent, 'out'));
    assert.deepEqual(await tree(path.join(parent, 'out')), expected(FILES));
  });
});
