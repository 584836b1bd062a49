/**
 * Collects a pdfkit document's output into pool blocks as it is drawn.
 *
 * @module
 */
import { ClosedError, LimitExceededError, PoolExhaustedError } from '../../errors.js';
import type { BufferPool, Lease } from '../../pool/index.js';

// Same growth rule as readAll: the first block is at least 16 KiB, each later one the largest
// class not above a quarter of what is held, so unfilled space stays below 1/4 of the document.
const MIN_BLOCK = 16 * 1024;

/** Options of a {@link PdfSink}. */
export interface PdfSinkOptions {
  pool: BufferPool;
  maxBytes: number;
  signal: AbortSignal;
}

/**
 * Copies every chunk a `PDFDocument` pushes into pooled blocks, synchronously, while `build` draws.
 *
 * Why not `readAll`: pdfkit pushes each object as it is drawn and ignores `pause()` (its `_read`
 * is a no-op), and `readAll` leases each new block asynchronously and pauses the source meanwhile,
 * so everything a synchronous `build` draws after the first block would pile up in the stream's
 * buffer as small Buffers, past any `maxBytes`, until `build` returns. Here a new block is leased
 * with the synchronous `pool.acquire`; only when the pool would have to wait does the sink fall
 * back to `acquireAsync`, and chunks arriving meanwhile are kept in order.
 */
export class PdfSink {
  readonly #doc: PDFKit.PDFDocument;
  readonly #pool: BufferPool;
  readonly #maxBytes: number;
  readonly #signal: AbortSignal;
  readonly #blocks: Lease[] = [];
  #current: Buffer | null = null;
  #offset = 0;
  #bytes = 0;
  /** Chunks (or the counted rest of one) that arrived while a block was leased asynchronously. */
  readonly #backlog: { bytes: Uint8Array; counted: boolean }[] = [];
  #growing = false;
  #ended = false;
  #settled = false;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;
  /** Settles when the document ended and every byte is stored, or with the first failure. */
  readonly done: Promise<void>;

  constructor(doc: PDFKit.PDFDocument, options: PdfSinkOptions) {
    this.#doc = doc;
    this.#pool = options.pool;
    this.#maxBytes = options.maxBytes;
    this.#signal = options.signal;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.done.catch(() => {}); // observed by renderPdf; never an unhandled rejection
    this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    doc.on('data', this.#onData);
    doc.once('end', this.#onEnd);
    doc.once('error', this.#fail);
    doc.once('close', this.#onClose);
  }

  readonly #onAbort = (): void => this.#fail(this.#signal.reason);

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#settled) return;
    if (this.#growing) this.#backlog.push({ bytes: chunk, counted: false });
    else this.#store(chunk, false);
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#growing) this.#finish();
  };

  readonly #onClose = (): void => {
    // build destroyed the document itself: what was drawn is incomplete.
    if (!this.#ended) this.#fail(new ClosedError('the PDF document (destroyed before it ended)'));
  };

  readonly #fail = (err: unknown): void => {
    if (this.#settled) return;
    this.#settled = true;
    this.#detach();
    this.close();
    this.#doc.destroy();
    this.#reject(err);
  };

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#detach();
    this.#resolve();
  }

  #detach(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#doc.removeListener('data', this.#onData);
    this.#doc.removeListener('end', this.#onEnd);
    this.#doc.removeListener('error', this.#fail);
    this.#doc.removeListener('close', this.#onClose);
  }

  /** Copy a chunk into blocks; when a block must be awaited, keep the rest and pause. */
  #store(chunk: Uint8Array, counted: boolean): void {
    if (!counted) {
      const total = this.#bytes + chunk.length;
      if (total > this.#maxBytes) {
        this.#fail(new LimitExceededError(this.#maxBytes, total, 'PDF'));
        return;
      }
      this.#bytes = total;
    }
    let from = 0;
    while (from < chunk.length) {
      let current = this.#current;
      if (current === null || this.#offset === current.length) {
        let lease: Lease;
        try {
          lease = this.#pool.acquire(this.#nextBlockSize(chunk.length - from));
        } catch (err) {
          // A sync acquire cannot wait: let acquireAsync apply the pool's policy (wait or throw).
          if (err instanceof PoolExhaustedError) this.#growAsync(chunk.subarray(from));
          else this.#fail(err);
          return;
        }
        current = this.#adopt(lease);
      }
      const n = Math.min(current.length - this.#offset, chunk.length - from);
      // Most chunks are a few bytes (pdfkit pushes object by object) and fit whole: no view then.
      current.set(n === chunk.length ? chunk : chunk.subarray(from, from + n), this.#offset);
      this.#offset += n;
      from += n;
    }
  }

  #growAsync(rest: Uint8Array): void {
    this.#growing = true;
    this.#backlog.unshift({ bytes: rest, counted: true });
    this.#doc.pause(); // pdfkit keeps pushing into the stream's buffer, but no 'data' meanwhile
    this.#pool
      .acquireAsync(this.#nextBlockSize(rest.length), { signal: this.#signal })
      .then((lease) => {
        if (this.#settled) {
          lease.release();
          return;
        }
        this.#adopt(lease);
        this.#growing = false;
        while (this.#backlog.length > 0 && !this.#growing && !this.#settled) {
          const next = this.#backlog.shift() as { bytes: Uint8Array; counted: boolean };
          this.#store(next.bytes, next.counted);
        }
        if (this.#settled || this.#growing) return;
        if (this.#ended) this.#finish();
        else this.#doc.resume();
      }, this.#fail);
  }

  #adopt(lease: Lease): Buffer {
    this.#blocks.push(lease);
    this.#current = lease.buffer;
    this.#offset = 0;
    return this.#current;
  }

  #nextBlockSize(pending: number): number {
    const classes = this.#pool.sizeClasses;
    const largest = classes[classes.length - 1] as number;
    if (this.#blocks.length === 0)
      return this.#pool.classFor(Math.max(MIN_BLOCK, pending)) ?? largest;
    let held = 0;
    for (const block of this.#blocks) held += block.capacity;
    const target = Math.max(MIN_BLOCK, Math.floor(held / 4), Math.min(pending, largest));
    let size = classes[0] as number;
    for (const c of classes) if (c <= target) size = c;
    return size;
  }

  /**
   * The document as one lease of exactly its length: the only block when it is of the right
   * class, else one copy into a new lease with each block released once copied.
   */
  async toLease(): Promise<Lease> {
    const n = this.#bytes;
    const blocks = this.#blocks;
    const only = blocks[0];
    if (blocks.length === 1 && only !== undefined && this.#pool.classFor(n) === only.capacity) {
      only.truncate(n);
      blocks.length = 0;
      return only;
    }
    const out = await this.#pool.acquireAsync(n, { signal: this.#signal });
    const target = out.buffer;
    let at = 0;
    for (const block of blocks.splice(0)) {
      const used = Math.min(block.buffer.length, n - at);
      block.buffer.copy(target, at, 0, used);
      at += used;
      block.release();
    }
    return out;
  }

  /** The filled blocks in order (the last one truncated), handed over to the caller. */
  takeBlocks(): Lease[] {
    const last = this.#blocks.at(-1);
    if (last !== undefined) last.truncate(this.#offset);
    return this.#blocks.splice(0);
  }

  /** Release every block still held (idempotent). */
  close(): void {
    for (const block of this.#blocks.splice(0)) block[Symbol.dispose]();
    this.#current = null;
  }
}
