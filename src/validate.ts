/**
 * Option validation shared by the capabilities that take the same kind of limit (decompression,
 * zip, sharp, pdfkit), so one rule has one implementation and one wording. Internal.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';

/**
 * A byte or count limit: `undefined` gives `fallback`; otherwise a safe integer ≥ 0, or
 * `Infinity` for no limit.
 *
 * @param name The option's name, without `options.`.
 * @throws {TypeError} when `value` is not a number, naming the option and its type.
 * @throws {RangeError} for a negative, fractional, unsafe or NaN value, naming the option and it.
 * @example
 * ```ts
 * const maxBytes = limitOption('maxBytes', options.maxBytes, 64 << 20);
 * ```
 */
export function limitOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  if (value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `options.${name} must be a non-negative integer or Infinity, got ${value}`,
    );
  }
  return value;
}

/**
 * A ratio limit (output bytes per input byte): `undefined` gives `fallback`; otherwise a number
 * ≥ 1, or `Infinity` for no limit.
 *
 * @param name The option's name, without `options.`.
 * @throws {TypeError} when `value` is not a number, naming the option and its type.
 * @throws {RangeError} below 1 or NaN, naming the option and the value.
 * @example
 * ```ts
 * const maxRatio = ratioOption('maxRatio', options.maxRatio, 100);
 * ```
 */
export function ratioOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`options.${name} must be a number, got ${typeof value}`);
  }
  // `!(>= 1)` also refuses NaN.
  if (!(value >= 1)) {
    throw new RangeError(`options.${name} must be a number >= 1 or Infinity, got ${value}`);
  }
  return value;
}

/**
 * A path argument as a string: a non-empty string as it is, a `file:` URL converted with
 * `fileURLToPath` (as `fs` does), so every path-taking function accepts what `fs.open` accepts.
 *
 * @param name The argument's name, e.g. `'path'`.
 * @throws {TypeError} for an empty string, a URL of another scheme, a `file:` URL `fs` would
 * refuse (a host on POSIX, an encoded `/`), or any other value; naming the argument and the value.
 * @example
 * ```ts
 * const file = toPath('path', new URL('./out.bin', import.meta.url));
 * ```
 */
export function toPath(name: string, value: unknown): string {
  if (typeof value === 'string' && value !== '') return value;
  if (value instanceof URL) {
    if (value.protocol !== 'file:') {
      throw new TypeError(`${name} must be a path or a file: URL, got a ${value.protocol} URL`);
    }
    try {
      return fileURLToPath(value);
    } catch (err) {
      throw new TypeError(`${name}: ${(err as Error).message}, got ${value.href}`, { cause: err });
    }
  }
  const shown = typeof value === 'string' ? "''" : String(value);
  throw new TypeError(`${name} must be a non-empty string or a file: URL, got ${shown}`);
}
