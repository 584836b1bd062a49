/**
 * SVG output: one white background rectangle and one stroked path of horizontal runs.
 *
 * @module
 */
import type { ModuleMatrix } from './png.js';

/**
 * The SVG document for `matrix`: coordinates in modules (`viewBox`), `width`/`height` in pixels
 * (`modules × scale`). Each run of dark modules in a row is one `M x y h n` command stroked with
 * width 1 at the row's centre line, as `qrcode`'s own SVG renderer draws it. ASCII only, so its
 * UTF-8 length is its string length.
 */
export function svgDocument(matrix: ModuleMatrix, scale: number, margin: number): string {
  const { size, data } = matrix;
  const n = size + 2 * margin;
  const px = n * scale;
  let path = '';
  for (let y = 0; y < size; y++) {
    const base = y * size;
    let x = 0;
    while (x < size) {
      if (data[base + x] === 0) {
        x++;
        continue;
      }
      const start = x;
      while (x < size && data[base + x] !== 0) x++;
      path += `M${start + margin} ${y + margin + 0.5}h${x - start}`;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges">` +
    `<path fill="#ffffff" d="M0 0h${n}v${n}H0z"/>` +
    `<path stroke="#000000" stroke-width="1" d="${path}"/></svg>\n`
  );
}
