/**
 * The QR code task as it runs in a render worker: matrix, scanlines and deflate in the worker,
 * then the PNG (or SVG) written straight into the block the main thread leased for it.
 *
 * @module
 */
import type { SizedOutput } from '../../workers/protocol.js';
import type { QrErrorCorrectionLevel, QrFormat, RenderSettings } from './options.js';
import { assemblePng, deflateScanlines, pngGeometry, pngLength, writeScanlines } from './png.js';
import { createMatrix } from './render.js';
import { svgDocument } from './svg.js';

/** @internal One code to render: validated options and the text. */
export interface QrTaskInput {
  text: string;
  format: QrFormat;
  scale: number;
  margin: number;
  errorCorrectionLevel: QrErrorCorrectionLevel;
}

// One scanline buffer per worker, grown to the largest code seen: the raw image is scratch that
// deflate reads once, so it never needs to be pooled or shared.
let scratch = Buffer.alloc(0);

/** @internal The handler `runChunk` calls in the worker for each code. */
export function renderQrSized(input: unknown): SizedOutput {
  const { text, format, scale, margin, errorCorrectionLevel } = input as QrTaskInput;
  const matrix = createMatrix(text, { errorCorrectionLevel } as RenderSettings, 'text');
  if (format === 'svg') {
    const svg = svgDocument(matrix, scale, margin);
    return {
      length: svg.length,
      write: (target) => {
        Buffer.from(target.buffer, target.byteOffset, target.length).write(svg, 0, 'latin1');
      },
    };
  }
  const geometry = pngGeometry(matrix.size, scale, margin);
  if (scratch.length < geometry.rawLength) scratch = Buffer.alloc(geometry.rawLength);
  const raw = scratch.subarray(0, geometry.rawLength);
  writeScanlines(raw, matrix, scale, margin, geometry);
  const idat = deflateScanlines(raw);
  return {
    length: pngLength(idat.length),
    write: (target) => {
      assemblePng(
        Buffer.from(target.buffer, target.byteOffset, target.length),
        geometry.width,
        idat,
      );
    },
  };
}
