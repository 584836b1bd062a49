/**
 * `slabio/zip`: safe, atomic zip extraction through the no-cache writer, or entry by entry into
 * pooled leases. Needs the optional peer dependency `yauzl`.
 *
 * @module
 */
export { type ExtractZipResult, extractZip } from './extract.js';
export type { ExtractZipOptions, ZipEntryOutput } from './options.js';
export { ZipEntry } from './zip-entry.js';
export type { ZipSource } from './zip-source.js';
