/**
 * The argument and option checkers every entry point uses, so each kind of check has one rule and
 * one wording: `<name> must be <what it takes>, got <the value>`, as a `TypeError` when the value
 * has the wrong type and a `RangeError` when it has the right type but is out of range (or not one
 * of the allowed values). Entry points check once, on the way in; lower layers trust what they are
 * given. Internal.
 *
 * `name` is the name the caller wrote, in full: `'options.maxBytes'`, `'fd'`, `'items[3].id'`.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { BufferPool } from './pool/buffer-pool.js';
import { getDefaultPool } from './pool/default-pool.js';

/** Longest quoted string in a message: the start says what it was without flooding a log line. */
const SHOWN_CHARS = 64;

/**
 * A value as an error message shows it: strings quoted (`'yes'`, cut after 64 characters), numbers
 * and other primitives as they print (`-1`, `NaN`, `null`), objects by what they are
 * (`an object`, `an array`, `an instance of Map`, `a function`).
 *
 * @example
 * ```ts
 * shown('1'); // "'1'"
 * ```
 */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const inner = JSON.stringify(value).slice(1, -1);
      return `'${inner.length > SHOWN_CHARS ? `${inner.slice(0, SHOWN_CHARS)}…` : inner}'`;
    }
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return value.name === '' ? 'a function' : `function ${value.name}`;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      const cls = typeof ctor?.name === 'string' ? ctor.name : '';
      return cls === '' || cls === 'Object' ? 'an object' : `an instance of ${cls}`;
    }
    default:
      return String(value);
  }
}

function fail(
  kind: typeof TypeError | typeof RangeError,
  name: string,
  what: string,
  value: unknown,
): never {
  throw new kind(`${name} must be ${what}, got ${shown(value)}`);
}

/**
 * Throws unless `value` is an object (not `null`, not a function): an options bag or an argument
 * that must be one.
 *
 * @throws {TypeError} naming `name` and the value.
 * @example
 * ```ts
 * checkObject('options', options);
 * ```
 */
export function checkObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) fail(TypeError, name, 'an object', value);
}

/**
 * An optional object: `undefined` passes, else {@link checkObject}.
 * @example `const write = objectOption('options.write', options.write) ?? {};`
 */
export function objectOption<T>(name: string, value: T): T {
  if (value !== undefined) checkObject(name, value);
  return value;
}

/**
 * The `pool` option: a {@link BufferPool}, or the default pool when it is `undefined`.
 *
 * @throws {TypeError} for anything else, naming `name` and the value.
 * @example
 * ```ts
 * const pool = poolOption(options.pool);
 * ```
 */
export function poolOption(value: unknown, name = 'options.pool'): BufferPool {
  if (value === undefined) return getDefaultPool();
  if (!(value instanceof BufferPool)) fail(TypeError, name, 'a BufferPool', value);
  return value;
}

/**
 * The `signal` option: an `AbortSignal` or `undefined`. Only the type is checked here: an
 * already-aborted signal is the caller's to act on, by rejecting with `signal.reason`
 * (`signal.throwIfAborted()` in an async function) before it starts any work.
 *
 * @throws {TypeError} for anything else, naming `name` and the value.
 * @example
 * ```ts
 * const signal = checkSignal(options.signal);
 * signal?.throwIfAborted();
 * ```
 */
export function checkSignal(value: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    fail(TypeError, name, 'an AbortSignal', value);
  }
  return value;
}

/** Bounds of a number check. Every bound is inclusive unless `above` says otherwise. */
export interface NumberRange {
  /** Least value. @default 0 */
  min?: number;
  /** `min` itself is refused: the value must be greater. @default false */
  above?: boolean;
  /** Greatest value. @default Number.MAX_SAFE_INTEGER for integers, Infinity for numbers */
  max?: number;
  /** `Infinity` is accepted as well ("no limit"). @default false */
  infinity?: boolean;
}

/** What an integer range takes, in words: "a positive integer", "an integer from 1 to 64". */
function integerWords(min: number, max: number): string {
  if (max >= Number.MAX_SAFE_INTEGER) {
    if (min <= Number.MIN_SAFE_INTEGER) return 'an integer';
    if (min === 0) return 'a non-negative integer';
    if (min === 1) return 'a positive integer';
    return `an integer >= ${min}`;
  }
  return `an integer from ${min} to ${max}`;
}

/**
 * Throws unless `value` is a safe integer within `range` (from 0 up to 2^53 - 1 by default), or
 * `Infinity` where `range.infinity` allows it.
 *
 * @throws {TypeError} when `value` is not a number; {RangeError} when it is a fraction, NaN,
 * unsafe or out of range. Both name `name` and the value, in the same words.
 * @example
 * ```ts
 * checkInteger('offset', offset);
 * ```
 */
export function checkInteger(name: string, value: unknown, range: NumberRange = {}): number {
  const min = (range.min ?? 0) + (range.above === true ? 1 : 0);
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const infinity = range.infinity === true;
  if (typeof value === 'number') {
    if (infinity && value === Number.POSITIVE_INFINITY) return value;
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  }
  const what = `${integerWords(min, max)}${infinity ? ' or Infinity' : ''}`;
  return fail(typeof value === 'number' ? RangeError : TypeError, name, what, value);
}

/**
 * An optional integer: `fallback` for `undefined`, else {@link checkInteger}.
 * @example `intOption('options.maxBytes', options.maxBytes, 64 << 20, { infinity: true })`
 */
export function intOption(
  name: string,
  value: unknown,
  fallback: number,
  range?: NumberRange,
): number {
  return value === undefined ? fallback : checkInteger(name, value, range);
}

/**
 * Throws unless `value` is a finite number within `range` (≥ 0 by default), or `Infinity` where
 * `range.infinity` allows it. NaN is always refused.
 *
 * @throws {TypeError} when `value` is not a number; {RangeError} when it is out of range. Both
 * name `name` and the value, in the same words.
 * @example
 * ```ts
 * checkNumber('options.deadlineMs', deadlineMs);
 * ```
 */
export function checkNumber(name: string, value: unknown, range: NumberRange = {}): number {
  const min = range.min ?? 0;
  const above = range.above === true;
  const max = range.max ?? Number.POSITIVE_INFINITY;
  const infinity = range.infinity === true;
  if (typeof value === 'number') {
    if (infinity && value === Number.POSITIVE_INFINITY) return value;
    if (Number.isFinite(value) && (above ? value > min : value >= min) && value <= max) {
      return value;
    }
  }
  const bounds =
    max === Number.POSITIVE_INFINITY
      ? `a number ${above ? '>' : '>='} ${min}`
      : `a number from ${min}${above ? ' (exclusive)' : ''} to ${max}`;
  const what = `${bounds}${infinity ? ' or Infinity' : ''}`;
  return fail(typeof value === 'number' ? RangeError : TypeError, name, what, value);
}

/**
 * An optional number: `fallback` for `undefined`, else {@link checkNumber}.
 * @example `numberOption('options.maxRatio', options.maxRatio, 100, { min: 1, infinity: true })`
 */
export function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  range?: NumberRange,
): number {
  return value === undefined ? fallback : checkNumber(name, value, range);
}

/**
 * One of a fixed set of values (own values only: `'toString'` is not a member of anything).
 * `fallback` when `value` is `undefined`; without a fallback `undefined` is refused too.
 *
 * @throws {TypeError} when `value` has another type than the allowed values; {RangeError} when it
 * has their type but is none of them. Both name `name`, list the values, and show the value.
 * @example
 * ```ts
 * const format = oneOf('options.format', options.format, ['png', 'svg'], 'png');
 * ```
 */
export function oneOf<T extends string | number | boolean>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback?: T,
): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  const what = `one of ${allowed.map(shown).join(', ')}`;
  const sameType = allowed.some((a) => typeof a === typeof value);
  return fail(sameType ? RangeError : TypeError, name, what, value);
}

/**
 * Throws unless `value` is a function.
 *
 * @throws {TypeError} naming `name` and the value.
 * @example
 * ```ts
 * checkFunction('build', build);
 * ```
 */
export function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') fail(TypeError, name, 'a function', value);
}

/**
 * An optional function: `undefined` passes, else {@link checkFunction}.
 * @example `functionOption('options.onEntry', options.onEntry)`
 */
export function functionOption<T>(name: string, value: T): T {
  if (value !== undefined) checkFunction(name, value);
  return value;
}

/**
 * An optional boolean option: `fallback` when `value` is `undefined`.
 *
 * @throws {TypeError} for anything but a boolean, naming `name` and the value.
 * @example
 * ```ts
 * const dryRun = booleanOption('options.dryRun', options.dryRun, false);
 * ```
 */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(TypeError, name, 'a boolean', value);
  return value;
}

/**
 * Throws unless `value` is a string, non-empty unless `empty` allows `''`.
 *
 * @throws {TypeError} naming `name` and the value.
 * @example
 * ```ts
 * checkString('build.export', name);
 * ```
 */
export function checkString(name: string, value: unknown, empty = false): asserts value is string {
  if (typeof value !== 'string' || (value === '' && !empty)) {
    fail(TypeError, name, empty ? 'a string' : 'a non-empty string', value);
  }
}

/**
 * An optional string: `fallback` for `undefined`, else {@link checkString}.
 * @example `stringOption('options.outDir', options.outDir)`
 */
export function stringOption<F extends string | undefined = undefined>(
  name: string,
  value: unknown,
  fallback?: F,
  empty = false,
): string | F {
  if (value === undefined) return fallback as F;
  checkString(name, value, empty);
  return value;
}

/** The largest file descriptor: fds are C `int`s, so 2^31 - 1. */
export const MAX_FD = 0x7fffffff;

/**
 * Throws unless `value` is a file descriptor number (an integer from 0 to {@link MAX_FD}). A
 * larger number must never reach the addon: a C `int` conversion would wrap it onto another open
 * file (2^32 + 18 is fd 18).
 *
 * @throws {TypeError} when `value` is not a number; {RangeError} when it is out of range.
 * @example
 * ```ts
 * checkFd(fd);
 * ```
 */
export function checkFd(value: unknown, name = 'fd'): number {
  return checkInteger(name, value, { max: MAX_FD });
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
  return fail(TypeError, name, 'a non-empty string or a file: URL', value);
}
