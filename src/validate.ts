/**
 * Option validation shared by the capabilities that take the same kind of limit (decompression,
 * zip, sharp, pdfkit), so one rule has one implementation and one wording. Internal.
 *
 * @module
 */

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
