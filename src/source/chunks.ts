/**
 * What a source may produce as a chunk, and copying chunks. Internal.
 *
 * @module
 */

/**
 * Whether `chunk` is something a source may produce: bytes (a `Buffer` or `Uint8Array`) or a
 * string (a stream with `setEncoding`, an object-mode stream of text), read as UTF-8.
 */
export function isChunk(chunk: unknown): chunk is Uint8Array | string {
  return chunk instanceof Uint8Array || typeof chunk === 'string';
}

/** The `TypeError` for a chunk that is neither bytes nor a string, naming what it is. */
export function notChunkError(chunk: unknown): TypeError {
  const kind =
    chunk === null ? 'null' : typeof chunk === 'object' ? chunk.constructor?.name : typeof chunk;
  return new TypeError(`source produced a chunk that is not bytes or a string: ${String(kind)}`);
}

/**
 * The bytes of a chunk a source produced (see {@link isChunk}); anything else is a programming
 * error upstream.
 * @throws {TypeError} for a chunk that is neither bytes nor a string.
 */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw notChunkError(chunk);
}

/** Copy `source[from, to)` into `target` at `at`. Buffers take the memcpy path without a view. */
export function copyBytes(
  source: Uint8Array,
  target: Buffer,
  at: number,
  from: number,
  to: number,
): void {
  if (Buffer.isBuffer(source)) source.copy(target, at, from, to);
  else target.set(from === 0 && to === source.length ? source : source.subarray(from, to), at);
}
