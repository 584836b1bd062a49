/**
 * Which input formats libvips may decode, recognised from the bytes before sharp sees them.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { BadInputError } from '../../errors.js';

/**
 * An input format slabio recognises from the first bytes, named as sharp's `metadata().format`
 * names it. `'heif'` covers HEIC and AVIF. `'svg'` (SVG and gzip-compressed SVGZ, rendered by
 * librsvg) and `'pdf'` (rendered by poppler or PDFium, where libvips has one) are vector formats:
 * their cost is not bounded by the pixel limit.
 */
export type ImageInputFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif' | 'svg' | 'pdf';

/** Every format {@link ImageInputFormat} names. */
export const IMAGE_INPUT_FORMATS: readonly ImageInputFormat[] = Object.freeze([
  'jpeg',
  'png',
  'webp',
  'gif',
  'tiff',
  'heif',
  'svg',
  'pdf',
]);

/**
 * Default `inputFormats`: the raster formats. Their decoding cost is bounded by the pixel count
 * that `limitInputPixels` checks from the header; a vector document's is not.
 */
export const DEFAULT_INPUT_FORMATS: readonly ImageInputFormat[] = Object.freeze([
  'jpeg',
  'png',
  'webp',
  'gif',
  'tiff',
  'heif',
]);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const TIFF_SIGNATURES = ['49492a00', '4d4d002a', '49492b00', '4d4d002b'];
// libvips' heifload list: the ISOBMFF brands it claims (any other `ftyp` is not HEIF to it).
const HEIF_BRANDS = new Set([
  'heic',
  'heix',
  'hevc',
  'heim',
  'heis',
  'hevm',
  'hevs',
  'mif1',
  'mif2',
  'mif3',
  'msf1',
  'avif',
]);
// PDF allows junk before "%PDF"; libvips looks 32 bytes in, the PDF reference up to 1024.
const PDF_WINDOW = 1024;

function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The raster format whose signature `b` starts with, tested as libvips' loader for it does. */
function rasterFormat(b: Buffer): ImageInputFormat | null {
  if (b[0] === 0xff && b[1] === 0xd8) return 'jpeg';
  if (b.length >= 8 && PNG_SIGNATURE.equals(b.subarray(0, 8))) return 'png';
  const head = b.toString('latin1', 0, 12);
  if (head.startsWith('GIF8')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  if (TIFF_SIGNATURES.includes(b.toString('hex', 0, 4))) return 'tiff';
  // An ISOBMFF `ftyp` box of at most 2 KiB whose major brand is one of libvips' HEIF brands.
  if (b.length >= 12 && head.slice(4, 8) === 'ftyp') {
    const box = b.readUInt32BE(0);
    if (box <= 2048 && box % 4 === 0 && HEIF_BRANDS.has(head.slice(8, 12))) return 'heif';
  }
  return null;
}

/**
 * Whether libvips' SVG loader could claim `b`: it takes gzip data as SVGZ, and otherwise looks
 * for `<svg` (any case) anywhere in the buffer as long as everything before it is valid UTF-8, so
 * an SVG behind a long comment or a BOM is one. All gzip data counts here, without inflating it.
 */
function looksLikeSvg(b: Buffer): boolean {
  if (b.length >= 18 && b[0] === 0x1f && b[1] === 0x8b) return true;
  // A first byte that no UTF-8 character starts with (JPEG's 0xFF, PNG's 0x89) leaves nothing.
  const first = b[0] ?? 0;
  if ((first >= 0x80 && first <= 0xc1) || first >= 0xf5) return false;
  for (let at = b.indexOf(0x3c); at !== -1; at = b.indexOf(0x3c, at + 1)) {
    // 0x20 folds ASCII case: "s", "v", "g" in either case.
    const svg =
      ((b[at + 1] ?? 0) | 0x20) === 0x73 &&
      ((b[at + 2] ?? 0) | 0x20) === 0x76 &&
      ((b[at + 3] ?? 0) | 0x20) === 0x67;
    // The first match decides: if what precedes it is not valid UTF-8, no later match's is.
    if (svg) return isUtf8(b.subarray(0, at));
  }
  return false;
}

function looksLikePdf(b: Buffer): boolean {
  return b.subarray(0, PDF_WINDOW).includes('%PDF', 0, 'latin1');
}

/**
 * @internal Every format libvips could read `bytes` as. The vector tests run on every input, also
 * behind a raster signature: a signature does not settle which loader libvips picks (its TIFF
 * test opens the data with libtiff and passes what libtiff refuses on to the next loader, SVG's
 * and PDF's included), and a file that is both is refused unless both are allowed.
 */
export function sniffFormats(bytes: Uint8Array): ImageInputFormat[] {
  const b = view(bytes);
  const found: ImageInputFormat[] = [];
  const raster = rasterFormat(b);
  if (raster !== null) found.push(raster);
  if (looksLikeSvg(b)) found.push('svg');
  if (looksLikePdf(b)) found.push('pdf');
  return found;
}

/**
 * @internal Refuse `bytes` unless every format libvips could read them as is in `allowed`.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` naming the format and the option.
 */
export function checkInputFormat(bytes: Uint8Array, allowed: ReadonlySet<ImageInputFormat>): void {
  const found = sniffFormats(bytes);
  const allowedList = [...allowed].join(', ') || 'none';
  if (found.length === 0) {
    throw new BadInputError(
      `image input is not in a format slabio recognises (options.inputFormats allows: ${allowedList})`,
    );
  }
  const refused = found.filter((format) => !allowed.has(format));
  if (refused.length === 0) return;
  const vector = refused.includes('svg') || refused.includes('pdf');
  throw new BadInputError(
    `image input is ${found.join(' and ')}, which options.inputFormats does not allow (allows: ${allowedList})` +
      (vector
        ? '; vector input costs CPU that limitInputPixels does not bound: allow it only for trusted input or with timeoutSeconds'
        : ''),
  );
}

/**
 * @internal Validate `inputFormats`.
 * @throws {TypeError} for anything but an array of {@link ImageInputFormat} names.
 */
export function inputFormatsOption(value: unknown): ReadonlySet<ImageInputFormat> {
  if (value === undefined) return new Set(DEFAULT_INPUT_FORMATS);
  if (!Array.isArray(value)) {
    throw new TypeError(
      `options.inputFormats must be an array of format names, got ${typeof value}`,
    );
  }
  for (const format of value) {
    if (!IMAGE_INPUT_FORMATS.includes(format)) {
      throw new TypeError(
        `options.inputFormats: unknown format ${String(format)}; known: ${IMAGE_INPUT_FORMATS.join(', ')}`,
      );
    }
  }
  return new Set(value as ImageInputFormat[]);
}
