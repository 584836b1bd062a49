/**
 * The size of a pipeline's output, worked out from the input's header and the pipeline's settings
 * before libvips renders anything. Internal.
 *
 * sharp has no public way to ask for it: the output's dimensions are known only once
 * `toBuffer` has returned, and by then libvips has allocated the whole output (a raw output is
 * one `width × height × channels` allocation, an encoded one a buffer that grows while the encoder
 * writes; sharp's stream output pushes that same buffer as one chunk). Nothing can stop a running
 * pipeline at a byte count, so the only bound that holds while the output is produced is one
 * checked before it starts.
 *
 * @module
 */
import type { Metadata, Sharp } from 'sharp';

/** Bytes per sample of sharp's `raw({ depth })`. */
const DEPTH_BYTES: Readonly<Record<string, number>> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** The pipeline settings sharp keeps on `image.options` that change the output's geometry. */
interface GeometrySettings {
  input?: { autoOrient?: boolean };
  width: number;
  height: number;
  canvas: string;
  withoutEnlargement: boolean;
  withoutReduction: boolean;
  widthPre: number;
  heightPre: number;
  widthPost: number;
  heightPost: number;
  angle: number;
  rotationAngle: number;
  rotateBefore: boolean;
  affineMatrix: readonly number[];
  extendTop: number;
  extendBottom: number;
  extendLeft: number;
  extendRight: number;
  formatOut: string;
  rawDepth?: string;
}

/** @internal What the output will be, at most. */
export interface OutputSize {
  /** Output pixels (width × height over all pages); an upper bound (rounded up). */
  readonly pixels: number;
  readonly width: number;
  readonly height: number;
  /**
   * For raw output: the fewest bytes it can take (one channel of `raw({ depth })` per pixel);
   * `undefined` for an encoded output, whose size only the encoder knows.
   */
  readonly minRawBytes: number | undefined;
}

/** Bounding box of a `w × h` rectangle rotated by `degrees` (rounded up, one pixel of slack). */
function rotated(w: number, h: number, degrees: number): [number, number] {
  const a = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(a));
  const sin = Math.abs(Math.sin(a));
  return [Math.ceil(w * cos + h * sin) + 1, Math.ceil(w * sin + h * cos) + 1];
}

/**
 * sharp's `ResolveShrink` (src/common.cc): the size `resize` gives a `w × h` page, for the
 * canvas modes `crop` (cover), `embed` (contain), `max` (inside), `min` (outside) and
 * `ignore_aspect` (fill).
 */
function resized(w: number, h: number, o: GeometrySettings): [number, number] {
  const tw = o.width;
  const th = o.height;
  if (!(tw > 0) && !(th > 0)) return [w, h];
  let hs = 1;
  let vs = 1;
  if (tw > 0 && th > 0) {
    hs = w / tw;
    vs = h / th;
    if (o.canvas === 'crop' || o.canvas === 'min') hs = vs = Math.min(hs, vs);
    else if (o.canvas === 'embed' || o.canvas === 'max') hs = vs = Math.max(hs, vs);
  } else if (tw > 0) {
    hs = w / tw;
    if (o.canvas !== 'ignore_aspect') vs = hs;
  } else {
    vs = h / th;
    if (o.canvas !== 'ignore_aspect') hs = vs;
  }
  if (o.withoutReduction) {
    hs = Math.min(1, hs);
    vs = Math.min(1, vs);
  } else if (o.withoutEnlargement) {
    hs = Math.max(1, hs);
    vs = Math.max(1, vs);
  }
  hs = Math.min(hs, w);
  vs = Math.min(vs, h);
  // sharp rounds with rint; Math.round differs only on exact halves, and then rounds up.
  let rw = Math.round(w / hs);
  let rh = Math.round(h / vs);
  // cover crops to the box, contain pads to it (the padding is bounded by the box too).
  if ((o.canvas === 'crop' || o.canvas === 'embed') && tw > 0 && th > 0) {
    rw = o.canvas === 'crop' ? Math.min(rw, tw) : Math.max(rw, tw);
    rh = o.canvas === 'crop' ? Math.min(rh, th) : Math.max(rh, th);
  }
  return [rw, rh];
}

/**
 * @internal The output size of `image`, whose input has the header `meta`, following the order
 * of sharp's pipeline (src/pipeline.cc): orientation, rotation before resize, extract before
 * resize, resize with crop or embed, rotation, extract after resize, affine, extend. Operations
 * that only shrink (trim) are left out, so the result is an upper bound.
 */
export function outputSize(image: Sharp, meta: Metadata): OutputSize {
  const o = (image as unknown as { options: GeometrySettings }).options;
  const oriented = o.input?.autoOrient === true && meta.autoOrient !== undefined;
  let w = (oriented ? meta.autoOrient.width : meta.width) ?? 0;
  let total = (oriented ? meta.autoOrient.height : meta.height) ?? 0;
  // A multi-page input (animated: true, or pages > 1) is one tall image of `pages` equal pages;
  // sharp applies every geometry step to each page.
  const pageHeight = meta.pageHeight !== undefined && meta.pageHeight > 0 ? meta.pageHeight : total;
  const pages = Math.max(1, Math.round(total / Math.max(1, pageHeight)));
  let h = pages > 1 ? pageHeight : total;
  const quarter = o.angle === 90 || o.angle === 270;
  if (o.rotateBefore) {
    if (quarter) [w, h] = [h, w];
    if (o.rotationAngle !== 0) [w, h] = rotated(w, h, o.rotationAngle);
  }
  if (o.widthPre > 0 && o.heightPre > 0) [w, h] = [o.widthPre, o.heightPre];
  [w, h] = resized(w, h, o);
  if (!o.rotateBefore) {
    if (quarter) [w, h] = [h, w];
    if (o.rotationAngle !== 0) [w, h] = rotated(w, h, o.rotationAngle);
  }
  if (o.widthPost > 0 && o.heightPost > 0) [w, h] = [o.widthPost, o.heightPost];
  const m = o.affineMatrix;
  if (m.length === 4) {
    const [a = 1, b = 0, c = 0, d = 1] = m;
    [w, h] = [
      Math.ceil(Math.abs(a) * w + Math.abs(b) * h) + 1,
      Math.ceil(Math.abs(c) * w + Math.abs(d) * h) + 1,
    ];
  }
  w += Math.max(0, o.extendLeft) + Math.max(0, o.extendRight);
  h += Math.max(0, o.extendTop) + Math.max(0, o.extendBottom);
  total = h * pages;
  const pixels = w * total;
  const raw = o.formatOut === 'raw' || (o.formatOut === 'input' && meta.format === 'raw');
  const minRawBytes = raw ? pixels * (DEPTH_BYTES[o.rawDepth ?? 'uchar'] ?? 1) : undefined;
  return { pixels, width: w, height: total, minRawBytes };
}
