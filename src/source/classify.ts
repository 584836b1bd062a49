/**
 * Recognising what a caller passed as a source, once, for every reader. Internal.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Lease } from '../pool/index.js';
import {
  abandonIterator,
  iterableChunks,
  readableChunks,
  type SourceChunks,
  valueKind,
  webChunks,
} from './iterate.js';
import { isFileHandle } from './open-file.js';
import { stopStream } from './readable.js';
import { absorbErrors } from './stream-end.js';
import type { WebStream } from './web-chunks.js';

/**
 * A kind of input an entry point may accept: bytes in memory (`Buffer`, `Uint8Array`, a pool
 * `Lease`), a path (string or `file:` URL), a caller's `FileHandle`, a Node `Readable`, a web
 * `ReadableStream`, or any other async iterable of chunks.
 */
export type SourceKind = 'bytes' | 'path' | 'handle' | 'readable' | 'web' | 'iterable';

/** A recognised source: its kind and the value, typed for that kind. */
export type Source =
  | { readonly kind: 'bytes'; readonly value: Uint8Array | Lease }
  | { readonly kind: 'path'; readonly value: string | URL }
  | { readonly kind: 'handle'; readonly value: FileHandle }
  | { readonly kind: 'readable'; readonly value: Readable }
  | { readonly kind: 'web'; readonly value: WebStream }
  | { readonly kind: 'iterable'; readonly value: AsyncIterable<unknown> };

/** The sources read as a stream of chunks (not bytes in memory, not a file). */
export type StreamSource = Extract<Source, { kind: 'readable' | 'web' | 'iterable' }>;

const LABELS: Record<SourceKind, string> = {
  bytes: 'a Buffer, a Uint8Array, a Lease',
  path: 'a path (string or URL)',
  handle: 'a FileHandle',
  readable: 'a Readable',
  iterable: 'an async iterable',
  web: 'a ReadableStream',
};

/** The kinds in the order an error message lists them. */
const ORDER: readonly SourceKind[] = ['bytes', 'path', 'handle', 'readable', 'iterable', 'web'];

function isObject(value: unknown): value is Record<string | symbol, unknown> {
  return typeof value === 'object' && value !== null;
}

/** What `value` is, without opening or reading anything; `null` when it is no kind at all. */
function recognise(value: unknown): Source | null {
  if (typeof value === 'string' || value instanceof URL) return { kind: 'path', value };
  if (value instanceof Uint8Array || value instanceof Lease) return { kind: 'bytes', value };
  if (!isObject(value)) return null;
  if (isFileHandle(value)) return { kind: 'handle', value };
  // Node streams before the rest: they are async iterable too, but each reader has a faster way
  // through their events than their iterator.
  if (
    typeof value.on === 'function' &&
    typeof value.pause === 'function' &&
    typeof value.resume === 'function' &&
    typeof value.read === 'function'
  ) {
    return { kind: 'readable', value: value as unknown as Readable };
  }
  if (typeof value.getReader === 'function' && typeof value.cancel === 'function') {
    return { kind: 'web', value: value as unknown as WebStream };
  }
  if (typeof value[Symbol.asyncIterator] === 'function') {
    return { kind: 'iterable', value: value as unknown as AsyncIterable<unknown> };
  }
  return null;
}

/**
 * Recognise `value` as one of the `accepted` kinds.
 * @param name What the caller called the argument (`source`, `input`, `path`), for the error.
 * @throws {TypeError} naming `name`, the accepted kinds and what `value` is, for anything else.
 */
export function classifySource<K extends SourceKind>(
  value: unknown,
  name: string,
  accepted: readonly K[],
): Extract<Source, { kind: K }> {
  const source = recognise(value);
  if (source !== null && (accepted as readonly SourceKind[]).includes(source.kind)) {
    return source as Extract<Source, { kind: K }>;
  }
  const labels = ORDER.filter((k) => (accepted as readonly SourceKind[]).includes(k)).map(
    (k) => LABELS[k],
  );
  const list =
    labels.length > 1 ? `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}` : labels[0];
  throw new TypeError(`${name} must be ${list}, got ${valueKind(value)}`);
}

/**
 * When `value` is a Node `Readable`, give it the 'error' listener of `absorbErrors` now: for an
 * entry point that takes a source, synchronously, but reads it only after awaits of its own.
 */
export function absorbSourceErrors(value: unknown): void {
  const source = recognise(value);
  if (source?.kind === 'readable') absorbErrors(source.value);
}

/** The bytes of a `bytes` source (a lease's buffer: read, never released). */
export function bytesOf(value: Uint8Array | Lease): Uint8Array {
  return value instanceof Lease ? value.buffer : value;
}

/** A stream source as chunks, read through one iterator; see {@link SourceChunks}. */
export function chunksOf(source: StreamSource): SourceChunks {
  switch (source.kind) {
    case 'readable':
      return readableChunks(source.value);
    case 'web':
      return webChunks(source.value);
    case 'iterable':
      return iterableChunks(source.value);
  }
}

/**
 * Let go of a source nobody will read, after a failure before reading started: stop a `Readable`
 * (see `stopStream`), cancel a web stream with `reason` unless someone else holds its reader,
 * end an iterable's iteration (a generator's `finally` blocks run). Bytes and files have nothing
 * open: a path is not opened yet, a `FileHandle` stays the caller's.
 */
export function abandonSource(source: Source, reason: unknown): void {
  switch (source.kind) {
    case 'readable':
      stopStream(source.value, reason);
      break;
    case 'web':
      if (!source.value.locked) source.value.cancel(reason).catch(() => {});
      break;
    case 'iterable':
      try {
        abandonIterator(source.value[Symbol.asyncIterator](), reason);
      } catch {
        // An iterable whose iterator cannot even be made has nothing to clean up.
      }
      break;
  }
}
