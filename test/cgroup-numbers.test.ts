// Every number readCgroupMemory reads is held to the kernel's own format: malformed spellings
// are CgroupErrors naming the file and the text, every documented "no limit" spelling is
// limit null, and counters are exact up to 2^53 − 1.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CgroupError } from '../src/errors.js';
import { type ReadCgroupMemoryOptions, readCgroupMemory } from '../src/memory/index.js';
import { fixture, overlay } from './cgroup-helpers.js';
import { MiB } from './helpers.js';

const SAFE = Number.MAX_SAFE_INTEGER; // 2^53 − 1
const V1_DIR = 'sys/fs/cgroup/memory/'; // the v1 fixture's group directory
const V2_CTR = 'pod-a/ctr/'; // the v2 fixture's container group

// Spellings no kernel prints for an unsigned counter: the number is padded, signed, in another
// base or notation, fractional, out of range, empty or surrounded by garbage.
const MALFORMED = [
  '',
  '\n',
  ' 42',
  '42 ',
  '42\n\n',
  '42\r\n',
  '\t42\n',
  '+42',
  '-1',
  '-0',
  '0x10',
  '0o17',
  '1e3',
  '1.5',
  '42.0',
  '4_2',
  '4 2',
  '007',
  '42abc',
  'abc42',
  'NaN',
  'Infinity',
  'max',
  '١٢',
  `1${'0'.repeat(400)}`,
  '18446744073709551616', // 2^64
];
// Unsigned decimals the kernel can print that no real counter reaches.
const TOO_BIG = [
  '9007199254740992', // 2^53: not exact as a Number
  '9223372036854771712',
  '18446744073709551615', // 2^64 − 1: a v1 usage underflow
];

/** Assert that reading rejects with a CgroupError naming `fileSuffix` and quoting `text`. */
async function rejectsNaming(
  options: ReadCgroupMemoryOptions,
  fileSuffix: string,
  text: string,
  key?: string,
): Promise<void> {
  await assert.rejects(readCgroupMemory(options), (err: unknown) => {
    assert.ok(err instanceof CgroupError, `${JSON.stringify(text)}: ${String(err)}`);
    assert.equal(err.code, 'ERR_SLABIO_CGROUP');
    assert.ok(err.file.endsWith(fileSuffix), `${err.file} should end with ${fileSuffix}`);
    const quoted = JSON.stringify(text.slice(0, 40));
    assert.ok(err.message.includes(quoted), `${err.message} should quote ${quoted}`);
    if (key !== undefined) assert.ok(err.message.includes(`"${key}"`), err.message);
    return true;
  });
}

const v1 = (files: Record<string, string | null>) => ({
  root: fixture('v1'),
  readFile: overlay(Object.fromEntries(Object.entries(files).map(([k, v]) => [V1_DIR + k, v]))),
});
const v2 = (files: Record<string, string | null>) => ({
  root: fixture('v2'),
  readFile: overlay(Object.fromEntries(Object.entries(files).map(([k, v]) => [V2_CTR + k, v]))),
});

/** The fixture's memory.stat with `key`'s line set to `value` (or removed for `null`). */
async function statWith(tree: 'v1' | 'v2', key: string, value: string | null): Promise<string> {
  const file =
    tree === 'v1'
      ? fixture(`v1/${V1_DIR}memory.stat`)
      : fixture(`v2/sys/fs/cgroup/kubepods.slice/${V2_CTR}memory.stat`);
  const text = await readFile(file, 'utf8');
  const line = new RegExp(`^${key} .*\\n`, 'm');
  assert.match(text, line, `${key} is in the fixture`);
  return text.replace(line, value === null ? '' : `${key} ${value}\n`);
}

describe('usage files', () => {
  it('refuses every malformed or out-of-range spelling in memory.current and memory.usage_in_bytes', async () => {
    for (const bad of [...MALFORMED, ...TOO_BIG]) {
      await rejectsNaming(v2({ 'memory.current': bad }), 'ctr/memory.current', bad);
      await rejectsNaming(v1({ 'memory.usage_in_bytes': bad }), 'memory.usage_in_bytes', bad);
    }
  });

  it('shortens a huge bad text in the message', async () => {
    const huge = `1${'0'.repeat(400)}`;
    await assert.rejects(
      readCgroupMemory(v1({ 'memory.usage_in_bytes': huge })),
      /memory\.usage_in_bytes: malformed number "1000000000000000000000000000000000000000"… \(401 characters\)/,
    );
  });

  it('reads 2^53 − 1 exactly, with or without the trailing newline, and refuses 2^53', async () => {
    for (const text of [`${SAFE}`, `${SAFE}\n`]) {
      const m = await readCgroupMemory(v2({ 'memory.current': text }));
      assert.equal(m.usage, SAFE);
      assert.equal(m.workingSet, SAFE - 40 * MiB, 'usage − inactive_file, exact');
    }
    const zero = await readCgroupMemory(v1({ 'memory.usage_in_bytes': '0\n' }));
    assert.equal(zero.usage, 0);
    assert.equal(zero.workingSet, 0);
    await rejectsNaming(
      v2({ 'memory.current': '9007199254740992\n' }),
      'memory.current',
      '9007199254740992',
    );
  });
});

describe('memory.stat', () => {
  it('refuses a malformed or too large value in every key the working set is made of', async () => {
    const keys = {
      v1: [
        'total_inactive_file',
        'total_active_file',
        'total_rss',
        'total_cache',
        'total_shmem',
        'total_dirty',
        'total_writeback',
      ],
      v2: [
        'inactive_file',
        'active_file',
        'anon',
        'file',
        'shmem',
        'file_dirty',
        'file_writeback',
        'slab_reclaimable',
      ],
    } as const;
    for (const tree of ['v1', 'v2'] as const) {
      const make = tree === 'v1' ? v1 : v2;
      for (const key of keys[tree]) {
        for (const bad of [
          '-5',
          '1.5',
          '0x10',
          '1e3',
          `1${'0'.repeat(30)}`,
          '18446744073709551615',
        ]) {
          const stat = await statWith(tree, key, bad);
          await rejectsNaming(make({ 'memory.stat': stat }), 'memory.stat', bad, key);
        }
      }
    }
  });

  it('reads 2^53 − 1 in a stat key and refuses 2^53', async () => {
    const ok = await readCgroupMemory(
      v2({ 'memory.stat': await statWith('v2', 'anon', `${SAFE}`) }),
    );
    assert.equal(ok.anon, SAFE);
    const bad = await statWith('v2', 'anon', '9007199254740992');
    await rejectsNaming(v2({ 'memory.stat': bad }), 'memory.stat', '9007199254740992', 'anon');
  });

  it('holds keys it does not use to the format, not the range', async () => {
    // A v1 counter that underflowed in a key slabio does not read does not blind the reader.
    const big = await statWith('v1', 'total_pgfault', '18446744073709551615');
    assert.equal((await readCgroupMemory(v1({ 'memory.stat': big }))).workingSet, 50 * MiB);
    const bad = await statWith('v1', 'total_pgfault', '12x');
    await rejectsNaming(v1({ 'memory.stat': bad }), 'memory.stat', '12x', 'total_pgfault');
  });

  it('refuses lines not in the "key value" format and repeated keys', async () => {
    const good = await readFile(fixture(`v1/${V1_DIR}memory.stat`), 'utf8');
    for (const [stat, what] of [
      [`${good}\n`, '""'],
      [`\n${good}`, '""'],
      [good.replace('total_rss ', 'total_rss  '), '"total_rss  29360128"'],
      [good.replace('total_rss ', 'total_rss\t'), '"total_rss\\t29360128"'],
      [good.replace('total_rss 29360128', 'total_rss 29360128 '), '"total_rss 29360128 "'],
      [good.replace('total_rss ', ' total_rss '), '" total_rss 29360128"'],
      [good.replace('total_rss 29360128', 'total_rss'), '"total_rss"'],
      [good.replace('total_rss 29360128', 'total_rss 1 2'), '"total_rss 1 2"'],
      [`${good}total_inactive_file 0\n`, 'key "total_inactive_file" appears twice'],
    ] as const) {
      await assert.rejects(readCgroupMemory(v1({ 'memory.stat': stat })), (err: unknown) => {
        assert.ok(err instanceof CgroupError);
        assert.ok(err.file.endsWith('memory.stat'));
        assert.ok(err.message.includes(what), `${err.message} should include ${what}`);
        return true;
      });
    }
  });
});

describe('limits', () => {
  it('maps every documented "no limit" spelling to limit null', async () => {
    // v2 prints "max"; v1 prints PAGE_COUNTER_MAX * PAGE_SIZE = 2^63 − PAGE_SIZE on 64-bit
    // kernels (4, 16 and 64 KiB pages), and 2^63 − 1 / 2^64 − 1 before page_counter (3.19).
    for (const text of ['max', 'max\n']) {
      const m = await readCgroupMemory({
        root: fixture('v2'),
        readFile: overlay({ 'pod-a/memory.max': text }),
      });
      assert.equal(m.limit, null, JSON.stringify(text));
      assert.equal(m.headroom, null);
    }
    for (const sentinel of [
      '9223372036854771712',
      '9223372036854759424',
      '9223372036854710272',
      '9223372036854775807',
      '18446744073709551615',
    ]) {
      const file = await readCgroupMemory(v1({ 'memory.limit_in_bytes': `${sentinel}\n` }));
      assert.equal(file.limit, 128 * MiB, 'hierarchical_memory_limit still caps');
      const both = await readCgroupMemory(
        v1({
          'memory.limit_in_bytes': `${sentinel}\n`,
          'memory.stat': await statWith('v1', 'hierarchical_memory_limit', sentinel),
        }),
      );
      assert.equal(both.limit, null, sentinel);
      const hier = await readCgroupMemory(
        v1({ 'memory.stat': await statWith('v1', 'hierarchical_memory_limit', sentinel) }),
      );
      assert.equal(hier.limit, 256 * MiB, 'memory.limit_in_bytes still caps');
    }
  });

  it('treats a limit at or above host memory as no limit, one byte below as a limit', async () => {
    const host = 8 * 1024 * MiB; // the fixture's MemTotal
    const at = await readCgroupMemory(v2({ 'memory.max': `${host}\n` }));
    assert.equal(at.limit, 256 * MiB, 'the parent still caps');
    const read = (text: string) =>
      readCgroupMemory({ root: fixture('v2'), readFile: overlay({ 'pod-a/memory.max': text }) });
    assert.equal((await read(`${host}\n`)).limit, null);
    assert.equal((await read(`${host - 1}\n`)).limit, host - 1);
    assert.equal((await read(`${SAFE}\n`)).limit, null);
    // A 32-bit kernel's "no limit" is (2^31 − 1) × 4 KiB, above any 32-bit host's memory.
    assert.equal((await read('8796093018112\n')).limit, null);
  });

  it('refuses malformed limit spellings in v2 memory.max and v1 memory.limit_in_bytes', async () => {
    const v2Bad = [
      'Max',
      'MAX',
      ' max',
      'max ',
      'max\n\n',
      'maximum',
      'unlimited',
      'infinity',
      '-1',
      '1e9',
      '0x10000000',
      '268435456.0',
      '',
      '18446744073709551616',
    ];
    for (const bad of v2Bad) {
      await rejectsNaming(
        { root: fixture('v2'), readFile: overlay({ 'pod-a/memory.max': bad }) },
        'pod-a/memory.max',
        bad,
      );
    }
    // v1 never prints "max", and "-1" is what one writes for "no limit", never what one reads.
    for (const bad of ['max', '-1', ...MALFORMED.filter((b) => b !== 'max')]) {
      await rejectsNaming(v1({ 'memory.limit_in_bytes': bad }), 'memory.limit_in_bytes', bad);
      const stat = await statWith('v1', 'hierarchical_memory_limit', bad);
      if (/^\S+$/.test(bad)) {
        await rejectsNaming(
          v1({ 'memory.stat': stat }),
          'memory.stat',
          bad,
          'hierarchical_memory_limit',
        );
      }
    }
  });
});

describe('events and counters', () => {
  it('refuses malformed values in memory.events, memory.oom_control and memory.failcnt', async () => {
    const events = await readFile(
      fixture(`v2/sys/fs/cgroup/kubepods.slice/${V2_CTR}memory.events`),
      'utf8',
    );
    for (const key of ['oom', 'oom_kill', 'high', 'max']) {
      for (const bad of ['-1', '1.0', '0x1', '9007199254740992']) {
        const text = events.replace(new RegExp(`^${key} .*$`, 'm'), `${key} ${bad}`);
        await rejectsNaming(v2({ 'memory.events': text }), 'memory.events', bad, key);
      }
    }
    for (const bad of ['-3', '3.0', '9007199254740992']) {
      const oom = `oom_kill_disable 0\nunder_oom 0\noom_kill ${bad}\n`;
      await rejectsNaming(v1({ 'memory.oom_control': oom }), 'memory.oom_control', bad, 'oom_kill');
    }
    for (const bad of MALFORMED.concat(TOO_BIG)) {
      await rejectsNaming(v1({ 'memory.failcnt': bad }), 'memory.failcnt', bad);
    }
    const max = await readCgroupMemory(v1({ 'memory.failcnt': `${SAFE}\n` }));
    assert.equal(max.events?.max, SAFE);
  });
});

describe('PSI', () => {
  const line = (kind: string, f: Partial<Record<'avg10' | 'avg60' | 'avg300' | 'total', string>>) =>
    `${kind} avg10=${f.avg10 ?? '0.00'} avg60=${f.avg60 ?? '0.00'} avg300=${f.avg300 ?? '0.00'} total=${f.total ?? '0'}`;

  it('reads fractional percentages and refuses what is not one', async () => {
    const psi = `${line('some', { avg10: '100.00', avg60: '3', avg300: '0.5', total: `${SAFE}` })}\n${line('full', {})}\n`;
    const m = await readCgroupMemory(v2({ 'memory.pressure': psi }));
    assert.deepEqual(m.pressure?.some, { avg10: 100, avg60: 3, avg300: 0.5, totalUs: SAFE });
    for (const bad of [
      '-1.00',
      '+1.00',
      '1e2',
      '0x10',
      'NaN',
      'Infinity',
      '100.01',
      '1,5',
      '.5',
      '5.',
      '',
      '01.00',
    ]) {
      for (const [field, kind] of [
        ['avg10', 'some'],
        ['avg300', 'full'],
      ] as const) {
        const text = `${line('some', kind === 'some' ? { [field]: bad } : {})}\n${line('full', kind === 'full' ? { [field]: bad } : {})}\n`;
        await rejectsNaming(v2({ 'memory.pressure': text }), 'memory.pressure', bad);
        await rejectsNaming(
          { root: fixture('v1'), readFile: overlay({ 'proc/pressure/memory': text }) },
          'proc/pressure/memory',
          bad,
        );
      }
    }
    for (const bad of ['-1', '1.5', '9007199254740992', '18446744073709551615']) {
      await rejectsNaming(
        v2({ 'memory.pressure': `${line('some', { total: bad })}\n` }),
        'memory.pressure',
        bad,
      );
    }
  });

  it('refuses lines not in the kernel format', async () => {
    const some = line('some', {});
    for (const text of [
      `${line('full', {})}\n`, // no "some"
      `${some}\n${some}\n`,
      `${some}\npartial avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`,
      `${some} extra=1\n`,
      'some avg10=0.00 avg60=0.00 total=0\n',
      `${some.replace(' avg60', '  avg60')}\n`,
      `${some}\n\n`,
      ` ${some}\n`,
    ]) {
      await assert.rejects(
        readCgroupMemory(v2({ 'memory.pressure': text })),
        (err: unknown) => err instanceof CgroupError && err.file.endsWith('memory.pressure'),
        JSON.stringify(text),
      );
    }
  });
});

describe('/proc/meminfo', () => {
  it('refuses malformed values and lines, and a MemTotal that is 0 or too large', async () => {
    const good = await readFile(fixture('host/proc/meminfo'), 'utf8');
    const host = (text: string) => ({
      root: fixture('host'),
      readFile: overlay({ 'proc/meminfo': text }),
    });
    // 8796093022208 kB is 2^53 bytes: a count of kB that is exact, bytes that are not.
    for (const [bad, quoted] of [
      ['-5', '-5'],
      ['0x10', '0x10'],
      ['1.5', '1.5'],
      ['1e3', '1e3'],
      ['8796093022208', '8796093022208 kB'],
    ]) {
      const text = good.replace('Inactive(file):  1572864 kB', `Inactive(file):  ${bad} kB`);
      await rejectsNaming(host(text), 'proc/meminfo', quoted as string, 'Inactive(file)');
    }
    await assert.rejects(
      readCgroupMemory(host(`${good}garbage\n`)),
      /proc\/meminfo: line "garbage"/,
    );
    await assert.rejects(
      readCgroupMemory(host(`${good}MemFree: 1 kB\n`)),
      /"MemFree" appears twice/,
    );
    await assert.rejects(
      readCgroupMemory(host(good.replace('MemTotal:        8388608', 'MemTotal: 0'))),
      /MemTotal is 0/,
    );
    // The cgroup readers take the host's memory from the same file.
    await assert.rejects(
      readCgroupMemory({
        root: fixture('v2'),
        readFile: overlay({ 'proc/meminfo': 'MemTotal: -1 kB\n' }),
      }),
      (err: unknown) => err instanceof CgroupError && err.file.endsWith('proc/meminfo'),
    );
    const max = await readCgroupMemory(
      host(good.replace('Shmem:             16384 kB', `Shmem: ${Math.floor(SAFE / 1024)} kB`)),
    );
    assert.equal(max.shmem, Math.floor(SAFE / 1024) * 1024);
  });
});
