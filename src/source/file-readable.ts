/**
 * A file as a Node `Readable`, opened and read through {@link openFile}. Internal.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { FILE_READ_BYTES } from './fd-calls.js';
import { type OpenedFile, openFile } from './open-file.js';

/**
 * What `fs.createReadStream` does, on the descriptor {@link openFile} gives: a FIFO path is
 * opened without waiting for a writer and its reads wait on the event loop, so destroying the
 * stream (or aborting `signal`) closes it at once instead of after the next write to the FIFO.
 * Each chunk is a Buffer of its own (consumers such as zlib keep chunks until they are done);
 * a read that fills less than a quarter of the buffer is copied out and the buffer reused, so
 * small FIFO writes do not each pin 64 KiB.
 */
export class FileReadable extends Readable {
  readonly #source: string | URL | OpenedFile;
  readonly #signal: AbortSignal | undefined;
  #file: OpenedFile | null = null;
  #position: number | null = null;
  #spare: Buffer | null = null;

  /** `source`: a path to open, or an opened file to take over (closed with the stream). */
  constructor(source: string | URL | OpenedFile, signal?: AbortSignal) {
    super({ highWaterMark: FILE_READ_BYTES });
    this.#source = source;
    this.#signal = signal;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    const source = this.#source;
    if (typeof source === 'string' || source instanceof URL) {
      openFile(source, this.#signal).then((file) => {
        this.#adopt(file);
        callback();
      }, callback);
    } else {
      this.#adopt(source);
      callback();
    }
  }

  override _read(): void {
    const file = this.#file as OpenedFile;
    const buffer = this.#spare ?? Buffer.allocUnsafeSlow(FILE_READ_BYTES);
    this.#spare = null;
    file.read(buffer, 0, buffer.length, this.#position).then(
      (n) => {
        if (this.#position !== null) this.#position += n;
        if (n === 0) {
          this.push(null);
        } else if (n * 4 < buffer.length) {
          this.#spare = buffer;
          this.push(Buffer.from(buffer.subarray(0, n)));
        } else {
          this.push(buffer.subarray(0, n));
        }
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const file = this.#file;
    this.#file = null;
    if (file === null) {
      callback(err);
      return;
    }
    file.close().then(
      () => callback(err),
      (closeErr: Error) => callback(err ?? closeErr),
    );
  }

  /** Destroy the stream (if it is not already) and resolve once its descriptor is closed. */
  closeNow(): Promise<void> {
    this.destroy();
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }

  #adopt(file: OpenedFile): void {
    this.#file = file;
    this.#position = file.position;
  }
}
