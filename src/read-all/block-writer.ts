/**
 * The engine under every reader and under `renderPdf`: fills pool blocks with what a source
 * produces, under the limit and the declared length, and turns them into one lease, a chunk list
 * or the blocks themselves at the end. Internal.
 *
 * @module
 */
import { BadInputError, ClosedError, LengthMismatchError, LimitExceededError } from '../errors.js';
import type { BufferPool, Lease } from '../pool/index.js';
import { type Holder, nextTicket } from '../pool/wait-queue.js';
import { copyBytes } from '../source/index.js';
import { ChunkList } from './chunk-list.js';
import { growthClasses, MIN_BLOCK } from './growth-classes.js';

/** What every read is checked against. */
export interface BlockWriterOptions {
  pool: BufferPool;
  maxBytes: number;
  /** The exact length the source declared; `undefined` when unknown. */
  declared: number | undefined;
  signal: AbortSignal | undefined;
  /** What the bytes are, for the {@link LimitExceededError} message. @default 'input' */
  label?: string;
  /**
   * Lease a new block with `pool.tryAcquire` when the pool can serve it at once, so
   * {@link BlockWriter.write} stores without a promise; only a block the pool would have to wait
   * for goes through `acquireAsync`. For sources that push synchronously and ignore `pause()`
   * (pdfkit): with every block leased asynchronously, all a synchronous producer pushes after a
   * full block piles up in its stream buffer, past `maxBytes`. Readers of pausable sources leave
   * it off: it measured no faster for them.
   * @default false
   */
  syncLease?: boolean;
}

/**
 * Growth rule (unknown length): blocks are filled completely, one after another, and a block is
 * leased only when the previous one is full. Blocks come from a ladder of classes four times
 * apart (see {@link growthClasses}), so concurrent reads share a few classes' slabs instead of
 * each reserving slabs in every class it passes. The first block is the smallest ladder class that
 * fits the first chunk; each later one is the largest ladder class not above the larger of a
 * quarter of the bytes already held and the rest of the chunk being stored (which fills such a
 * block entirely). So the only unfilled space is in the current block, at most
 * `max(first block, bytesHeld / 4)`: memory held stays within 1.25 × bytes read plus one block,
 * and no buffer is ever copied into a bigger one while reading.
 * With a declared length there is a single block of exactly that length, filled in place.
 *
 * Progress: the first block is leased holding nothing; every later lease (more blocks, the
 * result) is asked for as a {@link Holder}, so the pool can tell when reads only wait for each
 * other and fail the youngest instead of letting them all wait forever.
 */
export class BlockWriter implements Holder {
  /** @internal {@link Holder} age. */
  readonly ticket = nextTicket();
  readonly #pool: BufferPool;
  readonly #maxBytes: number;
  readonly #declared: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #label: string;
  readonly #syncLease: boolean;
  readonly #blocks: Lease[] = [];
  /** The current block's full buffer, or null before the first block. */
  #current: Buffer | null = null;
  #offset = 0;
  #bytesRead = 0;
  #closed = false;
  /** Aborted by `close()`: ends a wait for a block nobody will fill. Made on the first wait. */
  #cancel: AbortController | undefined;
  #waitSignal: AbortSignal | undefined;

  constructor(options: BlockWriterOptions) {
    this.#pool = options.pool;
    this.#maxBytes = options.maxBytes;
    this.#declared = options.declared;
    this.#signal = options.signal;
    this.#label = options.label ?? 'input';
    this.#syncLease = options.syncLease ?? false;
  }

  /** Bytes accepted so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes that may still be accepted before `maxBytes` (Infinity without a limit). */
  get allowance(): number {
    return this.#maxBytes - this.#bytesRead;
  }

  /**
   * Check the declared length against the limit (before anything is read) and lease its block.
   * @throws {LimitExceededError} when the declared length is over `maxBytes`.
   */
  async start(): Promise<void> {
    const declared = this.#declared;
    if (declared === undefined) return;
    if (declared > this.#maxBytes) {
      throw new LimitExceededError(this.#maxBytes, declared, this.#label);
    }
    // Only a peer's header gets here unchecked (lengthHint is validated): `content-length:
    // 99999999999999999999` is accepted by Node's parser but is no length anything can lease.
    if (!Number.isSafeInteger(declared)) {
      throw new BadInputError(`declared length ${declared} is not a usable byte count`);
    }
    if (declared > 0) this.#adopt(await this.#lease(declared));
  }

  /**
   * Account for `length` more bytes before they are stored (with {@link BlockWriter.store}).
   * @throws {LimitExceededError} past `maxBytes`. @throws {LengthMismatchError} past the declared length.
   */
  admit(length: number): void {
    const total = this.#bytesRead + length;
    if (this.#declared !== undefined && total > this.#declared) {
      throw new LengthMismatchError(this.#declared, total);
    }
    if (total > this.#maxBytes) throw new LimitExceededError(this.#maxBytes, total, this.#label);
    this.#bytesRead = total;
  }

  /**
   * Store a chunk. Returns `undefined` when it was stored at once, or a promise when a new block
   * had to be leased first (the caller pauses its source until it settles, and keeps the chunks
   * arriving meanwhile in order). Pool failures reject that promise; they are never thrown.
   * @throws {LimitExceededError|LengthMismatchError} as {@link BlockWriter.admit}.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (chunk.length === 0) return undefined;
    this.admit(chunk.length);
    return this.#copy(chunk, 0);
  }

  /** Store a chunk whose bytes were already {@link BlockWriter.admit}ted; as `write` otherwise. */
  store(chunk: Uint8Array): Promise<void> | undefined {
    return chunk.length === 0 ? undefined : this.#copy(chunk, 0);
  }

  #copy(chunk: Uint8Array, from: number): Promise<void> | undefined {
    while (from < chunk.length) {
      const current = this.#current;
      if (current === null || this.#offset === current.length) {
        const pending = this.#grow(chunk.length - from);
        if (pending === undefined) continue; // leased synchronously
        const rest = from;
        return pending.then(() => this.#copy(chunk, rest));
      }
      const n = Math.min(current.length - this.#offset, chunk.length - from);
      copyBytes(chunk, current, this.#offset, from, from + n);
      this.#offset += n;
      from += n;
    }
    return undefined;
  }

  /**
   * Make room for a direct read (files): returns `undefined` when the current block has space,
   * else a promise for a new block.
   */
  reserve(pending: number): Promise<void> | undefined {
    const current = this.#current;
    if (current !== null && this.#offset < current.length) return undefined;
    return this.#grow(pending);
  }

  /** The current block and the free range in it, after {@link BlockWriter.reserve}. */
  get target(): { buffer: Buffer; offset: number; length: number } {
    const buffer = this.#current as Buffer;
    return { buffer, offset: this.#offset, length: buffer.length - this.#offset };
  }

  /**
   * Record `n` bytes read straight into {@link BlockWriter.target}.
   * @throws {LimitExceededError|LengthMismatchError} when they cross the limit or declared length.
   */
  commit(n: number): void {
    this.admit(n);
    this.#offset += n;
  }

  /** Lease the next block: `undefined` when it is in place already, else a promise for it. */
  #grow(pending: number): Promise<void> | undefined {
    const size = this.#nextBlockSize(pending);
    if (this.#syncLease) {
      // Fail as acquireAsync would, as a rejection: callers feed chunks from event handlers.
      if (this.#closed) return Promise.reject(abandoned());
      if (this.#signal?.aborted) return Promise.reject(this.#signal.reason);
      try {
        // tryAcquire keeps the turn of queued waiters and counts nothing when it cannot serve.
        const lease = this.#pool.tryAcquire(size);
        if (lease !== null) {
          this.#adopt(lease);
          return undefined;
        }
      } catch (err) {
        return Promise.reject(err);
      }
      // The pool cannot serve now: acquireAsync applies its policy (wait, or throw).
    }
    return this.#lease(size).then((lease) => this.#adopt(lease));
  }

  /**
   * Lease `size` bytes; once blocks are held, as a holder (see the class comment). A wait is
   * cancelled by {@link BlockWriter.close}, so a read that failed meanwhile (its client went
   * away) leaves the queue at once instead of holding its place until it is served.
   */
  #lease(size: number): Promise<Lease> {
    try {
      if (this.#signal?.aborted) return Promise.reject(this.#signal.reason);
      const now = this.#pool.tryAcquire(size);
      if (now !== null) return Promise.resolve(now);
    } catch (err) {
      return Promise.reject(err);
    }
    const options = this.#waitOptions();
    return this.#blocks.length === 0
      ? this.#pool.acquireAsync(size, options)
      : this.#pool.acquireFor(this, size, options);
  }

  /** The caller's signal joined with the writer's own, which `close()` aborts. */
  #waitOptions(): { signal: AbortSignal } {
    if (this.#cancel === undefined) {
      this.#cancel = new AbortController();
      this.#waitSignal =
        this.#signal === undefined
          ? this.#cancel.signal
          : AbortSignal.any([this.#signal, this.#cancel.signal]);
    }
    return { signal: this.#waitSignal as AbortSignal };
  }

  /** @internal {@link Holder}: the budget bytes of the blocks held now. */
  heldBytes(): number {
    let held = 0;
    for (const b of this.#blocks) held += b.heldIn(this.#pool);
    return held;
  }

  #adopt(lease: Lease): void {
    if (this.#closed) {
      // The read failed while this block was being leased: nobody will fill it.
      lease.release();
      throw abandoned();
    }
    this.#blocks.push(lease);
    this.#current = lease.buffer;
    this.#offset = 0;
  }

  #nextBlockSize(pending: number): number {
    const ladder = growthClasses(this.#pool);
    if (this.#blocks.length === 0) {
      // Round the first block up so a body that arrives as one chunk needs one block.
      const fits = Math.max(MIN_BLOCK, pending);
      return ladder.find((c) => c >= fits) ?? (ladder.at(-1) as number);
    }
    // Round later blocks down, so the free space stays below a quarter of what is held. A block no
    // larger than the pending chunk is filled by it completely, so sizing up to the chunk adds no
    // free space and saves blocks when chunks are large.
    const target = Math.max(MIN_BLOCK, Math.floor(this.#bytesHeld() / 4), pending);
    let size = ladder[0] as number;
    for (const c of ladder) if (c <= target) size = c;
    return size;
  }

  #bytesHeld(): number {
    let held = 0;
    for (const b of this.#blocks) held += b.capacity;
    return held;
  }

  /** @throws {LengthMismatchError} when the source ended short of its declared length. */
  #checkEnd(): void {
    if (this.#declared !== undefined && this.#bytesRead !== this.#declared) {
      throw new LengthMismatchError(this.#declared, this.#bytesRead);
    }
  }

  /**
   * The source ended: return everything as one lease of exactly `bytesRead` bytes. A single block
   * of the right class is handed over as is; otherwise one copy into a new lease, each block going
   * back to the pool once copied. During that copy the result and the not-yet-copied blocks are
   * both held (up to about 2.25 × the body, all of it reused pool memory); `readAllChunks` skips
   * the copy, and a known length avoids the blocks altogether.
   */
  async toLease(): Promise<Lease> {
    this.#checkEnd();
    const n = this.#bytesRead;
    const blocks = this.#blocks;
    const only = blocks[0];
    if (only === undefined) return this.#pool.acquireAsync(0);
    if (
      blocks.length === 1 &&
      (this.#declared !== undefined || this.#pool.classFor(n) === only.capacity)
    ) {
      only.truncate(n);
      blocks.length = 0;
      this.#closed = true;
      return only;
    }
    const out = await this.#lease(n);
    if (this.#closed) {
      out.release();
      throw new ClosedError('read'); // it failed while the result was being leased
    }
    // Give each block back as soon as it is copied, so concurrent reads can reuse it at once.
    const target = out.buffer;
    let at = 0;
    for (const block of blocks.splice(0)) {
      const used = Math.min(block.buffer.length, n - at);
      block.buffer.copy(target, at, 0, used);
      at += used;
      block.release();
    }
    this.close();
    return out;
  }

  /** The source ended: hand the blocks over as a {@link ChunkList}, without copying. */
  toChunks(): ChunkList {
    return new ChunkList(this.takeBlocks(), this.#bytesRead);
  }

  /**
   * The source ended: hand the filled blocks over in order (the last truncated to its bytes), for
   * the caller to release, e.g. by writing them with `writeFileNoCache`.
   * @throws {LengthMismatchError} when the source ended short of its declared length.
   */
  takeBlocks(): Lease[] {
    this.#checkEnd();
    const last = this.#blocks.at(-1);
    if (last !== undefined) last.truncate(this.#offset);
    this.#closed = true;
    return this.#blocks.splice(0);
  }

  /** Release every block (idempotent); blocks still being leased are released on arrival. */
  close(): void {
    this.#closed = true;
    for (const block of this.#blocks.splice(0)) block.release();
    this.#current = null;
    this.#cancel?.abort(abandoned());
  }
}

/** The read failed (and was closed) while a block was being leased. */
function abandoned(): ClosedError {
  return new ClosedError('read');
}
