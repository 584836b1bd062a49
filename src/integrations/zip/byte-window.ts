/**
 * Small random reads of an archive's records through one reused window. Internal.
 *
 * @module
 */
import { BadInputError } from '../../errors.js';

/**
 * Read up to `length` bytes at `position` of the archive into `target` (from its start); resolves
 * with the number of bytes read, fewer only at the end of the archive.
 */
export type ReadAt = (target: Buffer, length: number, position: number) => Promise<number>;

// One read brings in this much, so the headers of small entries, which sit close together, come
// in a few reads instead of two per entry. A page-cache read of 16 KiB costs about what a read of
// 30 bytes costs (the syscall and the libuv round trip dominate).
const WINDOW_BYTES = 16 * 1024;

function ended(got: number, length: number, position: number): BadInputError {
  return new BadInputError(`zip archive ended early: ${got} of ${length} bytes at ${position}`);
}

/**
 * Serves byte ranges below `limit` from a window of the archive, reading a new window only when a
 * range is not inside the current one. The bytes returned are valid until the next call. An
 * archive already in memory is served from its own bytes, without copying.
 */
export class ByteWindow {
  readonly #read: ReadAt;
  readonly #limit: number;
  readonly #whole: Buffer | null;
  #buffer: Buffer = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  /** Reads issued so far (reported with `NODE_DEBUG=slabio`). */
  reads = 0;

  constructor(read: ReadAt, limit: number, whole: Buffer | null = null) {
    this.#read = read;
    this.#limit = limit;
    this.#whole = whole;
  }

  /**
   * The `length` bytes at `position`. The caller checked that they lie below the limit.
   *
   * @throws {BadInputError} `ERR_SLABIO_BAD_INPUT` if the archive ends early (it shrank).
   */
  async bytes(position: number, length: number): Promise<Buffer> {
    if (this.#whole !== null) {
      const bytes = this.#whole.subarray(position, position + length);
      if (bytes.length < length) throw ended(bytes.length, length, position);
      return bytes;
    }
    if (position < this.#start || position + length > this.#end) {
      const want = Math.min(Math.max(length, WINDOW_BYTES), this.#limit - position);
      if (this.#buffer.length < want)
        this.#buffer = Buffer.allocUnsafe(Math.max(want, WINDOW_BYTES));
      this.reads++;
      const got = await this.#read(this.#buffer, want, position);
      this.#start = position;
      this.#end = position + got;
      if (got < length) throw ended(got, length, position);
    }
    const from = position - this.#start;
    return this.#buffer.subarray(from, from + length);
  }
}
