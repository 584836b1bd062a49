/**
 * The input type of `extractZip`, apart from the module that opens it with yauzl: the published
 * declarations of `slabio/zip` then never import `yauzl`, which ships no types of its own.
 *
 * @module
 */
import type { Lease } from '../../pool/index.js';

/**
 * What `extractZip` reads: a path, the archive's bytes (a Buffer/Uint8Array or a lease, only
 * read, never released), or a stream of them (a Node `Readable`, an async iterable of bytes, a
 * web `ReadableStream`), which is spooled to a temporary file first because a zip is read from
 * its end; so is a path to a FIFO or device, which has no random access either.
 */
export type ZipSource =
  | string
  | URL
  | Uint8Array
  | Lease
  | NodeJS.ReadableStream
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>;
