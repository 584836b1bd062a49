/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (CI logs and pipes get
 * nothing but the final report).
 *
 * @module
 */
import type { Sample } from './types.js';
import { MiB } from './types.js';

const WIDTH = 28;

/** Progress of one run at a time. */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #label = '';
  #total = 0;
  #limit: number | null = null;
  #lastDraw = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = stream.isTTY === true;
  }

  /** Start a new bar for `label` with `total` items. */
  begin(label: string, total: number, limitBytes: number | null): void {
    this.#label = label;
    this.#total = total;
    this.#limit = limitBytes;
    this.#lastDraw = 0;
  }

  /** Redraw with the latest sample (at most 10 times a second). */
  update(s: Sample): void {
    const frac = this.#total > 0 ? Math.min(1, s.items / this.#total) : 0;
    const limit = this.#limit === null ? '' : ` / ${Math.round(this.#limit / MiB)}`;
    const ws = `WS ${Math.round(s.workingSet / MiB)}${limit} MiB`;
    this.show(
      frac,
      `${String(s.items).padStart(5)}/${this.#total}  ${ws}  ${(s.t / 1000).toFixed(1)} s`,
    );
  }

  /** Redraw the bar filled to `frac` (0…1) with `text` after it (at most 10 times a second). */
  show(frac: number, text: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const filled = Math.round(Math.max(0, Math.min(1, frac)) * WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
    const line = `${this.#label.padEnd(16)} [${bar}] ${text}`;
    this.#stream.write(`\r\x1b[2K${line.slice(0, (this.#stream.columns ?? 120) - 1)}`);
  }

  /** Clear the bar and print a one-line note in its place. */
  note(text: string): void {
    if (this.#enabled) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${text}\n`);
  }

  /** Clear the bar. */
  end(): void {
    if (this.#enabled) this.#stream.write('\r\x1b[2K');
  }
}
