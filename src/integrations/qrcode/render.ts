/**
 * `renderQr`: one QR code into one pooled lease.
 *
 * @module
 */
import qrcode from 'qrcode';
import { BadInputError } from '../../errors.js';
import type { Lease } from '../../pool/index.js';
import { checkString } from '../../validate.js';
import { type RenderQrOptions, type RenderSettings, renderSettings } from './options.js';
import { encodePng, encodePngAsync, type ModuleMatrix } from './png.js';
import { svgDocument } from './svg.js';

/**
 * @internal The module matrix for `text`.
 * @throws {TypeError} when `text` is not a string.
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` when qrcode cannot encode it (empty, or too long
 * for the level); the qrcode error is the `cause`.
 */
export function createMatrix(text: unknown, settings: RenderSettings, name = 'text'): ModuleMatrix {
  checkString(name, text, true);
  try {
    return qrcode.create(text, { errorCorrectionLevel: settings.errorCorrectionLevel }).modules;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BadInputError(
      `${name} (${Buffer.byteLength(text)} bytes) cannot be encoded as a QR code at error correction level ${settings.errorCorrectionLevel}: ${reason}`,
      { cause: err },
    );
  }
}

function svgLease(lease: Lease, svg: string): Lease {
  lease.buffer.write(svg, 0, 'latin1');
  return lease;
}

/**
 * Render `text` as a QR code into one lease from the pool holding exactly the PNG (or SVG) file's
 * bytes. The module matrix comes from `qrcode.create`; the image is drawn straight into a pooled
 * 1-bit scanline buffer and deflated once, so per code the only fresh allocations are qrcode's own
 * and the few-KiB deflate output. Release the lease (or pass it to `writeFileNoCache`, which does).
 *
 * @default options `{ format: 'png', scale: 4, margin: 4, errorCorrectionLevel: 'M', pool: getDefaultPool() }`
 * @throws {TypeError} when `text` is not a string or an option has the wrong type (names it).
 * @throws {RangeError} when `scale` or `margin` is out of range (names it and the value).
 * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` when the text is empty or too long for the
 * level; `cause` is qrcode's error.
 * @throws {PoolExhaustedError} `ERR_SLABIO_POOL_EXHAUSTED` when the pool's budget is spent.
 * @example
 * ```ts
 * import { writeFileNoCache } from 'slabio';
 * import { renderQr } from 'slabio/qrcode';
 * const lease = renderQr('https://example.com/t/42', { scale: 8, errorCorrectionLevel: 'Q' });
 * await writeFileNoCache('ticket-42.png', lease); // releases the lease
 * ```
 */
export function renderQr(text: string, options: RenderQrOptions = {}): Lease {
  const s = renderSettings(options);
  const matrix = createMatrix(text, s);
  if (s.format === 'png') return encodePng(s.pool, matrix, s.scale, s.margin);
  const svg = svgDocument(matrix, s.scale, s.margin);
  return svgLease(s.pool.acquire(svg.length), svg);
}

/** @internal `renderQr` with validated settings and async (waiting, abortable) pool leases. */
export async function renderQrAsync(
  text: unknown,
  s: RenderSettings,
  signal: AbortSignal | undefined,
  name: string,
): Promise<Lease> {
  const matrix = createMatrix(text, s, name);
  if (s.format === 'png') return encodePngAsync(s.pool, matrix, s.scale, s.margin, signal);
  const svg = svgDocument(matrix, s.scale, s.margin);
  const lease = await s.pool.acquireAsync(svg.length, signal === undefined ? {} : { signal });
  return svgLease(lease, svg);
}
