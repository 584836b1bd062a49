/**
 * The CPU a small hostile SVG costs: sharp alone vs `transformImage` with its defaults (SVG
 * refused from the bytes), with SVG allowed, and with SVG allowed plus `timeoutSeconds: 1`.
 *
 * Two SVGs of nested `<use>` elements, built here: 9 levels of 10 (1.8 KB, 10^9 rectangles; librsvg
 * gives up after 500 000 referenced elements), and 6 levels of 8 on a 2000 × 16000 canvas (1 KB,
 * 262 144 rectangles in each of the 8 tiles libvips renders, under librsvg's limit, so every tile
 * is drawn), and the same without `width`/`height`, which librsvg measures while libvips reads
 * the header. CPU is `process.cpuUsage()` over the call (all threads, libvips' included).
 *
 * Run: `npm run bench -- sharp-svg` (add `--json` for machine output).
 */
import sharp from 'sharp';
import {
  DEFAULT_INPUT_FORMATS,
  type TransformImageOptions,
  transformImage,
} from '../src/integrations/sharp/index.js';
import { environment, table, wantsJson } from './harness.js';

/** Without `width`/`height` (size `null`), librsvg measures the drawing to size the image. */
function nestedUse(levels: number, fanout: number, size: [number, number] | null): Buffer {
  let defs = '<g id="l0"><rect width="1" height="1"/></g>';
  for (let i = 1; i <= levels; i++) {
    defs += `<g id="l${i}">${`<use href="#l${i - 1}"/>`.repeat(fanout)}</g>`;
  }
  const dims = size === null ? '' : ` width="${size[0]}" height="${size[1]}"`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg"${dims}><defs>${defs}</defs><use href="#l${levels}"/></svg>`,
  );
}

interface Row {
  svg: string;
  variant: string;
  cpuMs: number;
  wallMs: number;
  outcome: string;
}

async function timed(run: () => Promise<unknown>): Promise<Omit<Row, 'svg' | 'variant'>> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let outcome = 'rendered';
  try {
    const result = await run();
    (result as Partial<Disposable>)[Symbol.dispose]?.();
  } catch (err) {
    const e = err as Error & { code?: string };
    outcome = e.code ?? e.message.split('\n')[0] ?? String(err);
  }
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start, outcome };
}

async function main(): Promise<void> {
  const svgs: [string, Buffer][] = [
    ['nested <use> 9×10, 100×100', nestedUse(9, 10, [100, 100])],
    ['nested <use> 6×8, 2000×16000', nestedUse(6, 8, [2000, 16_000])],
    ['nested <use> 6×8, no width/height', nestedUse(6, 8, null)],
  ];
  const allow: TransformImageOptions = { inputFormats: [...DEFAULT_INPUT_FORMATS, 'svg'] };
  const variants: [string, (svg: Buffer) => Promise<unknown>][] = [
    ['sharp(svg).png().toBuffer()', (svg) => sharp(svg).png().toBuffer()],
    ['transformImage (defaults)', (svg) => transformImage(svg, (img) => img.png())],
    [
      "transformImage, inputFormats + 'svg'",
      (svg) => transformImage(svg, (img) => img.png(), allow),
    ],
    [
      "transformImage, inputFormats + 'svg', timeoutSeconds: 1",
      (svg) => transformImage(svg, (img) => img.png(), { ...allow, timeoutSeconds: 1 }),
    ],
  ];
  const rows: Row[] = [];
  for (const [name, svg] of svgs) {
    for (const [variant, run] of variants) {
      rows.push({ svg: `${name} (${svg.length} B)`, variant, ...(await timed(() => run(svg))) });
    }
  }
  if (wantsJson()) {
    console.log(JSON.stringify({ environment: environment(), rows }));
    return;
  }
  console.log(environment());
  console.log(
    table(
      ['SVG', 'variant', 'CPU ms', 'wall ms', 'outcome'],
      rows.map((r) => [r.svg, r.variant, r.cpuMs.toFixed(0), r.wallMs.toFixed(0), r.outcome]),
    ),
  );
}

await main();
