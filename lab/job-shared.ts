/**
 * The parts of the batch job that do not touch memory: names, QR payloads and the label layout.
 * Both variants use them so they produce the same files.
 *
 * @module
 */
import path from 'node:path';

/** A4 in PDF points. */
const PAGE = { width: 595.28, height: 841.89 };
const COLS = 4;
const ROWS = 5;
const QR_SIZE = 110;

/** One label on a sheet: where its QR code goes, and whether it starts a new page. */
export interface LabelCell {
  index: number;
  newPage: boolean;
  x: number;
  y: number;
  size: number;
}

/** File name of the thumbnail for a zip entry (`photos/item-00001.jpg` → `item-00001.jpg`). */
export function thumbName(entryName: string): string {
  return path.basename(entryName);
}

/** What each QR code encodes: where the uploaded thumbnail lives, with its checksum. */
export function qrText(name: string, md5: string): string {
  return `https://cdn.example.com/thumbs/${name}?md5=${md5}`;
}

/** The caption under a label. */
export function labelText(name: string): string {
  return name.replace(/\.jpg$/, '');
}

/** Grid positions of `count` labels, 4 × 5 to an A4 page. */
export function* layoutLabels(count: number): Generator<LabelCell> {
  const cellW = PAGE.width / COLS;
  const cellH = PAGE.height / ROWS;
  for (let index = 0; index < count; index++) {
    const onPage = index % (COLS * ROWS);
    const col = onPage % COLS;
    const row = Math.floor(onPage / COLS);
    yield {
      index,
      newPage: onPage === 0,
      x: col * cellW + (cellW - QR_SIZE) / 2,
      y: row * cellH + (cellH - QR_SIZE - 12) / 2,
      size: QR_SIZE,
    };
  }
}
