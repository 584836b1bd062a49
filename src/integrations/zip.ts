/**
 * `slabio/zip`: safe, atomic zip extraction through the no-cache writer, or entry by entry into
 * pooled leases. Needs the optional peer dependency `yauzl`.
 *
 * @module
 */
export { type ExtractZipResult, extractZip } from './zip/extract.js';
export type { ExtractZipOptions, ZipEntryOutput } from './zip/options.js';
export type { ZipSource } from './zip/source.js';
export { ZipEntry } from './zip/zip-entry.js';
