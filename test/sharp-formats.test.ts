import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { BadInputError, BufferPool, SlabioTimeoutError } from 'slabio';
import {
  DEFAULT_INPUT_FORMATS,
  decodeRaw,
  IMAGE_INPUT_FORMATS,
  type ImageInput,
  type ImageInputFormat,
  type TransformImageOptions,
  transformImage,
} from 'slabio/sharp';
import { fileTempDir } from './helpers.js';

const pool = new BufferPool({ maxBytes: 256 << 20, idleTrimMs: 0 });
const inUse = (): number => pool.stats().inUseBytes;

const dir = fileTempDir();

/**
 * `levels` groups, each drawing the one below `fanout` times through `<use>`: one rectangle
 * becomes fanout^levels when rendered, from a file of about 200 bytes per level.
 */
function nestedUse(levels: number, fanout: number, width: number, height: number): Buffer {
  let defs = '<g id="l0"><rect width="1" height="1"/></g>';
  for (let i = 1; i <= levels; i++) {
    defs += `<g id="l${i}">${`<use href="#l${i - 1}"/>`.repeat(fanout)}</g>`;
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${defs}</defs><use href="#l${levels}"/></svg>`,
  );
}

const SIMPLE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="#c00"/></svg>';

const entries: [
  string,
  (input: ImageInput, options?: TransformImageOptions) => Promise<unknown>,
][] = [
  ['transformImage', (input, options) => transformImage(input, (img) => img.png(), options)],
  ['decodeRaw', (input, options) => decodeRaw(input, options)],
];

async function deliveries(bytes: Buffer): Promise<[string, ImageInput][]> {
  const file = path.join(dir, `input-${Math.random().toString(36).slice(2)}.png`);
  await writeFile(file, bytes);
  return [
    ['Buffer', bytes],
    ['path named .png', file],
    ['stream', Readable.from([bytes.subarray(0, 100), bytes.subarray(100)])],
  ];
}

function refused(format: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BadInputError, `expected BadInputError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_SLABIO_BAD_INPUT');
    assert.match(err.message, new RegExp(`image input is ${format}.*options\\.inputFormats`));
    // Refused by slabio from the bytes: sharp never ran, so there is no sharp error behind it.
    assert.equal(err.cause, undefined);
    return true;
  };
}

function release(result: unknown): void {
  (result as Disposable)[Symbol.dispose]();
}

describe('vector input is refused by default, from its bytes', () => {
  const bomb = nestedUse(9, 10, 100, 100); // 10^9 rectangles when rendered
  it('the nested-<use> fixture is about 2 KB', () => {
    assert.ok(bomb.length > 1500 && bomb.length < 2500, `${bomb.length} bytes`);
  });

  for (const [entryName, entry] of entries) {
    it(`${entryName}: the nested-<use> SVG, as a Buffer, a file named .png and a stream`, async () => {
      for (const [how, input] of await deliveries(bomb)) {
        await assert.rejects(entry(input, { pool }), refused('svg'), how);
      }
      assert.equal(inUse(), 0);
    });
  }

  it('SVG in every disguise libvips would still load as SVG', async () => {
    const disguises: [string, Buffer][] = [
      ['BOM and XML declaration', Buffer.from(`\ufeff<?xml version="1.0"?>\n${SIMPLE_SVG}`)],
      ['upper case', Buffer.from(SIMPLE_SVG.replace('<svg', '<SVG'))],
      ['a doctype and a comment first', Buffer.from(`<!DOCTYPE svg><!-- x -->${SIMPLE_SVG}`)],
      ['behind 64 KiB of comment', Buffer.from(`<!--${'x'.repeat(64 << 10)}-->${SIMPLE_SVG}`)],
      ['gzip-compressed (SVGZ)', gzipSync(Buffer.from(SIMPLE_SVG))],
      ['behind a GIF signature', Buffer.concat([Buffer.from('GIF89a'), bomb])],
    ];
    for (const [name, bytes] of disguises) {
      await assert.rejects(
        transformImage(bytes, (img) => img.png(), { pool }),
        refused('.*svg'),
        name,
      );
    }
    assert.equal(inUse(), 0);
  });

  it('PDF is refused (libvips reads it where it has poppler or PDFium)', async () => {
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
    await assert.rejects(decodeRaw(pdf, { pool }), refused('pdf'));
    await assert.rejects(
      decodeRaw(Buffer.concat([Buffer.from('\r\n  '), pdf]), { pool }),
      refused('pdf'),
    );
  });

  it('input in no recognised format is refused without reaching sharp', async () => {
    for (const bytes of [Buffer.from('P6\n1 1\n255\n\0\0\0'), Buffer.alloc(64, 7)]) {
      await assert.rejects(decodeRaw(bytes, { pool }), (err: unknown) => {
        assert.ok(err instanceof BadInputError);
        assert.match(err.message, /not in a format slabio recognises/);
        return true;
      });
    }
  });
});

describe('raster formats decode by default; inputFormats narrows or widens', () => {
  it('JPEG, PNG, WebP, GIF, TIFF and AVIF made by sharp all decode', async () => {
    const base = sharp({ create: { width: 24, height: 16, channels: 3, background: '#36a' } });
    const encoded: [string, Buffer][] = [
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['png', await base.clone().png().toBuffer()],
      ['webp', await base.clone().webp().toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
      ['tiff', await base.clone().tiff().toBuffer()],
      ['heif', await base.clone().avif().toBuffer()],
    ];
    assert.deepEqual(
      encoded.map(([f]) => f),
      [...DEFAULT_INPUT_FORMATS],
    );
    for (const [format, bytes] of encoded) {
      using image = await decodeRaw(bytes, { pool });
      assert.deepEqual([image.width, image.height], [24, 16], format);
    }
    assert.equal(inUse(), 0);
  });

  it('a narrower list refuses the rest; a list with svg renders a harmless SVG', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    await assert.rejects(decodeRaw(jpeg, { pool, inputFormats: ['png'] }), refused('jpeg'));
    await assert.rejects(decodeRaw(jpeg, { pool, inputFormats: [] }), refused('jpeg'));
    const formats: ImageInputFormat[] = [...DEFAULT_INPUT_FORMATS, 'svg'];
    using svg = await decodeRaw(Buffer.from(SIMPLE_SVG), { pool, inputFormats: formats });
    assert.deepEqual([svg.width, svg.height, svg.channels], [40, 30, 4]);
    assert.deepEqual([...svg.lease.buffer.subarray(0, 4)], [0xcc, 0, 0, 0xff]);
  });

  it('raw pixel input is not sniffed', async () => {
    const raw = Buffer.from(SIMPLE_SVG.padEnd(4 * 4 * 3, ' ')).subarray(0, 4 * 4 * 3);
    const out = await transformImage(raw, (img) => img.png(), {
      pool,
      sharpOptions: { raw: { width: 4, height: 4, channels: 3 } },
    });
    release(out);
    assert.equal(inUse(), 0);
  });
});

describe('allowed vector input: timeoutSeconds stops the render with ERR_SLABIO_TIMEOUT', () => {
  it('a tall nested-<use> SVG (8 tiles of 46 656 rectangles each) stops after the deadline', async () => {
    // Each 2000 × 2000 tile is one librsvg call that instantiates 6^6 rectangles; without the
    // timeout the 8 tiles render to the end and the promise resolves.
    const svg = nestedUse(6, 6, 2000, 16_000);
    for (const [entryName, entry] of entries) {
      await assert.rejects(
        entry(svg, { pool, inputFormats: ['svg'], timeoutSeconds: 1 }),
        (err: unknown) => {
          assert.ok(
            err instanceof SlabioTimeoutError,
            `${entryName}: expected SlabioTimeoutError, got ${err}`,
          );
          assert.equal(err.code, 'ERR_SLABIO_TIMEOUT');
          assert.equal(err.timeoutMs, 1000);
          assert.match(String((err.cause as Error)?.message), /timeout/);
          return true;
        },
      );
    }
    assert.equal(inUse(), 0);
  });
});

describe('option validation', () => {
  it('names the option and the bad value', async () => {
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const bad: [TransformImageOptions, RegExp, ErrorConstructor][] = [
      [{ inputFormats: 'svg' as never }, /options\.inputFormats must be an array/, TypeError],
      [{ inputFormats: ['bmp' as never] }, /options\.inputFormats: unknown format bmp/, TypeError],
      [{ timeoutSeconds: '1' as never }, /options\.timeoutSeconds must be .* got '1'/, TypeError],
      [{ timeoutSeconds: 1.5 }, /options\.timeoutSeconds .* got 1\.5/, RangeError],
      [{ timeoutSeconds: -1 }, /options\.timeoutSeconds .* got -1/, RangeError],
      [{ timeoutSeconds: 3601 }, /options\.timeoutSeconds .* got 3601/, RangeError],
    ];
    for (const [options, message, type] of bad) {
      await assert.rejects(
        transformImage(png, (img) => img, { pool, ...options }),
        (err) => {
          assert.ok(err instanceof type, String(err));
          assert.match((err as Error).message, message);
          return true;
        },
      );
    }
    assert.ok(IMAGE_INPUT_FORMATS.includes('pdf'));
    release(await transformImage(png, (img) => img, { pool, timeoutSeconds: 0 }));
    assert.equal(inUse(), 0);
  });
});
