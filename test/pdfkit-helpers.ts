/**
 * Independent checks for slabio/pdfkit output: poppler's `pdfinfo` and `pdftoppm` (Debian
 * `poppler-utils`) parse and rasterize the PDF, complaining on stderr about any broken xref,
 * object or stream; the grayscale page comes back as a PGM, and QR codes on it are decoded with
 * jsQR.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { decodeGray, type Gray } from './qrcode-helpers.js';

function missing(tool: string): string | undefined {
  const probe = spawnSync(tool, ['-v'], { encoding: 'utf8' });
  if (probe.error === undefined) return undefined;
  return `${tool} not found (${(probe.error as NodeJS.ErrnoException).code}): install poppler-utils (apt-get install -y poppler-utils)`;
}

/** Why the rendering checks cannot run here, or `undefined` when pdftoppm and pdfinfo are there. */
export const popplerMissing: string | undefined = missing('pdftoppm') ?? missing('pdfinfo');
if (popplerMissing !== undefined) console.log(`# skipping PDF rendering checks: ${popplerMissing}`);

/** What `pdfinfo` reports about a PDF. */
export interface PdfInfo {
  pages: number;
  /** Size of the first page in points. */
  width: number;
  height: number;
  fields: Map<string, string>;
}

/** Parse `pdf` with pdfinfo; fails the test on any error or warning poppler prints. */
export function pdfInfo(pdf: Uint8Array): PdfInfo {
  const run = spawnSync('pdfinfo', ['-'], { input: pdf, encoding: 'utf8' });
  assert.equal(run.status, 0, `pdfinfo failed: ${run.stderr}`);
  assert.equal(run.stderr, '', 'pdfinfo printed no warning');
  const fields = new Map<string, string>();
  for (const line of run.stdout.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const size = /^([\d.]+) x ([\d.]+) pts/.exec(fields.get('Page size') ?? '');
  assert.ok(size, `pdfinfo reported a page size: ${fields.get('Page size')}`);
  return {
    pages: Number(fields.get('Pages')),
    width: Number(size[1]),
    height: Number(size[2]),
    fields,
  };
}

/** Parse a binary PGM (P5, maxval 255) as pdftoppm -gray writes it. */
export function readPgm(pgm: Buffer): Gray {
  // Header: magic, width, height, maxval, separated by whitespace, then exactly one whitespace byte.
  const tokens: string[] = [];
  let at = 0;
  while (tokens.length < 4) {
    while (/\s/.test(String.fromCharCode(pgm[at] as number))) at++;
    const start = at;
    while (at < pgm.length && !/\s/.test(String.fromCharCode(pgm[at] as number))) at++;
    tokens.push(pgm.toString('latin1', start, at));
  }
  at++;
  const [magic, w, h, maxval] = tokens;
  assert.equal(magic, 'P5');
  assert.equal(maxval, '255');
  const width = Number(w);
  const height = Number(h);
  assert.equal(pgm.length - at, width * height, 'PGM has width × height bytes of pixels');
  return { width, height, pixels: pgm.subarray(at) };
}

/** Rasterize page `page` (1-based) of `pdf` at `dpi` in grayscale; fails on any poppler complaint. */
export function renderPage(pdf: Uint8Array, page: number, dpi: number): Gray {
  const args = ['-f', String(page), '-l', String(page), '-r', String(dpi), '-gray', '-'];
  const run = spawnSync('pdftoppm', args, { input: pdf, maxBuffer: 256 << 20 });
  assert.equal(run.status, 0, `pdftoppm failed: ${run.stderr}`);
  assert.equal(run.stderr.toString(), '', 'pdftoppm printed no warning');
  return readPgm(run.stdout);
}

/** A rectangle of `img` given in points at `dpi`, clamped to the image, with `pad` points around. */
export function cropPoints(
  img: Gray,
  dpi: number,
  box: { x: number; y: number; width: number; height: number },
  pad: number,
): Gray {
  const px = (pt: number): number => Math.round((pt * dpi) / 72);
  const left = Math.max(0, px(box.x - pad));
  const top = Math.max(0, px(box.y - pad));
  const right = Math.min(img.width, px(box.x + box.width + pad));
  const bottom = Math.min(img.height, px(box.y + box.height + pad));
  const width = right - left;
  const height = bottom - top;
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const from = (top + y) * img.width + left;
    pixels.set(img.pixels.subarray(from, from + width), y * width);
  }
  return { width, height, pixels };
}

/** Decode the QR code inside `box` (points) of a page rendered at `dpi`; `null` when none is found. */
export function decodeAt(
  img: Gray,
  dpi: number,
  box: { x: number; y: number; width: number; height: number },
): string | null {
  return decodeGray(cropPoints(img, dpi, box, 6));
}
