/**
 * Every failure slabio detects is a {@link SlabioError} with a stable `code`.
 *
 * Bad arguments are reported with the built-in `TypeError` / `RangeError` instead, aborts reject
 * with the signal's `reason`, and errors thrown by user callbacks pass through unchanged. A system
 * call the kernel fails, whether Node or slabio's native addon made it, rejects with an error
 * shaped like Node's own fs errors (`code` the errno name, e.g. `'ENOSPC'`; `errno` the negative
 * number; `syscall`; `path` when the call took one), never with a `SlabioError`.
 *
 * @module
 */

/** Every `code` a {@link SlabioError} can have; one per subclass. */
export type SlabioErrorCode =
  | 'ERR_SLABIO_POOL_EXHAUSTED'
  | 'ERR_SLABIO_TIMEOUT'
  | 'ERR_SLABIO_DOUBLE_RELEASE'
  | 'ERR_SLABIO_RELEASED'
  | 'ERR_SLABIO_CLOSED'
  | 'ERR_SLABIO_LIMIT'
  | 'ERR_SLABIO_LENGTH_MISMATCH'
  | 'ERR_SLABIO_BAD_INPUT'
  | 'ERR_SLABIO_UNSAFE_ARCHIVE'
  | 'ERR_SLABIO_UNSUPPORTED'
  | 'ERR_SLABIO_DESTINATION'
  | 'ERR_SLABIO_CGROUP'
  | 'ERR_SLABIO_WORKER';

/** Options accepted by every slabio error constructor. */
export interface SlabioErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of all errors slabio raises. Check `err.code` (stable across versions; typed as the
 * union {@link SlabioErrorCode}, so a `switch` on it is checked) or use `instanceof` with the
 * subclass.
 *
 * @example
 * ```ts
 * try { pool.acquire(n); } catch (err) {
 *   if (err instanceof SlabioError && err.code === 'ERR_SLABIO_POOL_EXHAUSTED') shed();
 *   else throw err;
 * }
 * ```
 */
export class SlabioError extends Error {
  /** Stable machine-readable code, `ERR_SLABIO_*`. */
  readonly code: SlabioErrorCode;

  constructor(code: SlabioErrorCode, message: string, options?: SlabioErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** The pool's byte budget is spent and the request cannot wait. Code `ERR_SLABIO_POOL_EXHAUSTED`. */
export class PoolExhaustedError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_POOL_EXHAUSTED';
  /** Bytes that were asked for. */
  readonly requested: number;
  /** The pool's `maxBytes`. */
  readonly maxBytes: number;
  /** Bytes the pool had reserved when the request failed. */
  readonly reservedBytes: number;

  constructor(requested: number, maxBytes: number, reservedBytes: number, detail?: string) {
    super(
      'ERR_SLABIO_POOL_EXHAUSTED',
      `pool budget exhausted: ${requested} bytes requested, ${reservedBytes} of maxBytes ${maxBytes} reserved${detail === undefined ? '' : `; ${detail}`}`,
    );
    this.requested = requested;
    this.maxBytes = maxBytes;
    this.reservedBytes = reservedBytes;
  }
}

/**
 * An operation did not finish within `timeoutMs`. Code `ERR_SLABIO_TIMEOUT`.
 *
 * Not the `DOMException` named `'TimeoutError'` that `AbortSignal.timeout()` aborts with: that one
 * is the `signal.reason` of an abort (its `code` is the number 23); this one is slabio's own bound
 * (`timeoutMs`, `waitTimeoutMs`, `acquireTimeoutMs`, `timeoutSeconds`) running out.
 *
 * @example
 * ```ts
 * if (err instanceof SlabioTimeoutError) retryLater(); // err.code === 'ERR_SLABIO_TIMEOUT'
 * else if (err instanceof DOMException && err.name === 'TimeoutError') giveUp(); // the signal
 * ```
 */
export class SlabioTimeoutError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_TIMEOUT';
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, options?: SlabioErrorOptions) {
    super('ERR_SLABIO_TIMEOUT', `${what} timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** `release()` was called on a lease that was already released. Code `ERR_SLABIO_DOUBLE_RELEASE`. */
export class DoubleReleaseError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_DOUBLE_RELEASE';

  constructor() {
    super('ERR_SLABIO_DOUBLE_RELEASE', 'lease was already released');
  }
}

/** A lease's buffer was used after `release()`. Code `ERR_SLABIO_RELEASED`. */
export class UseAfterReleaseError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_RELEASED';

  constructor() {
    super('ERR_SLABIO_RELEASED', 'lease was used after release()');
  }
}

/** The pool (or another slabio resource) was closed. Code `ERR_SLABIO_CLOSED`. */
export class ClosedError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_CLOSED';

  constructor(what: string) {
    super('ERR_SLABIO_CLOSED', `${what} is closed`);
  }
}

/** More bytes than allowed were read or produced. Code `ERR_SLABIO_LIMIT`. */
export class LimitExceededError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_LIMIT';
  /** The limit, in bytes (in pixels for an image output pixel limit, as the message says). */
  readonly limit: number;
  /** Bytes read (or declared) when the limit was hit, in the limit's unit; always greater than `limit`. */
  readonly bytesRead: number;

  constructor(limit: number, bytesRead: number, what = 'input', unit = 'bytes') {
    super(
      'ERR_SLABIO_LIMIT',
      `${what} exceeds the limit of ${limit} ${unit} (${bytesRead} ${unit})`,
    );
    this.limit = limit;
    this.bytesRead = bytesRead;
  }
}

/** A source produced a different number of bytes than it declared. Code `ERR_SLABIO_LENGTH_MISMATCH`. */
export class LengthMismatchError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_LENGTH_MISMATCH';
  /** The declared length. */
  readonly expected: number;
  /** Bytes actually seen (for a long body: the first count past `expected`). */
  readonly actual: number;

  constructor(expected: number, actual: number) {
    super(
      'ERR_SLABIO_LENGTH_MISMATCH',
      `declared length ${expected} bytes does not match the ${actual} bytes received`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Input could not be decoded (corrupt, truncated, unsupported). Code `ERR_SLABIO_BAD_INPUT`. */
export class BadInputError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_BAD_INPUT';

  constructor(message: string, options?: SlabioErrorOptions) {
    super('ERR_SLABIO_BAD_INPUT', message, options);
  }
}

/** An archive tried something unsafe (path traversal, symlink, duplicate name, bomb). Code `ERR_SLABIO_UNSAFE_ARCHIVE`. */
export class UnsafeArchiveError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_UNSAFE_ARCHIVE';
  /** The offending entry name, when there is one. */
  readonly entry: string | undefined;

  constructor(message: string, entry?: string) {
    super('ERR_SLABIO_UNSAFE_ARCHIVE', message);
    this.entry = entry;
  }
}

/** A capability is not available here (no native addon, kernel too old, filesystem refuses). Code `ERR_SLABIO_UNSUPPORTED`. */
export class UnsupportedError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_UNSUPPORTED';

  constructor(message: string, options?: SlabioErrorOptions) {
    super('ERR_SLABIO_UNSUPPORTED', message, options);
  }
}

/**
 * Why a destination cannot be used. For `extractZip`'s directory: `'not-empty'` (it exists and
 * holds entries, found before any work or, when someone filled it meanwhile, at the final
 * rename), `'not-directory'` (a file or another non-directory is there) or `'symbolic-link'` (a
 * link, even to an empty directory: rename(2) would not follow it). For an atomic
 * `writeFileNoCache` / `createNoCacheWriteStream`: `'not-file'` (the path, after its symbolic
 * links, is a directory, device, FIFO or socket, which the final rename would replace).
 */
export type DestinationProblem = 'not-empty' | 'not-directory' | 'symbolic-link' | 'not-file';

/**
 * A destination exists and is not what the call can replace: `extractZip`'s is not an empty
 * directory, an atomic write's is not a regular file. Nothing was written into it.
 * Code `ERR_SLABIO_DESTINATION`.
 */
export class DestinationError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_DESTINATION';
  /** The destination, as resolved. */
  readonly destination: string;
  /** What is wrong with it. */
  readonly reason: DestinationProblem;

  constructor(
    destination: string,
    reason: DestinationProblem,
    message: string,
    options?: SlabioErrorOptions,
  ) {
    super('ERR_SLABIO_DESTINATION', `${destination} ${message}`, options);
    this.destination = destination;
    this.reason = reason;
  }
}

/** A cgroup or `/proc` file could not be read or parsed (missing, malformed number). Code `ERR_SLABIO_CGROUP`. */
export class CgroupError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_CGROUP';
  /** The file that failed, e.g. `/sys/fs/cgroup/memory.stat`. */
  readonly file: string;

  constructor(file: string, message: string, options?: SlabioErrorOptions) {
    super('ERR_SLABIO_CGROUP', `${file}: ${message}`, options);
    this.file = file;
  }
}

/**
 * What went wrong with a render worker thread: `'start'` (it could not start: a `setup` module
 * threw, or it did not report ready in time), `'exit'` (it exited or died with tasks in flight,
 * e.g. `process.exit` or `resourceLimits` exceeded), `'task'` (a task threw something slabio does
 * not know; the worker's error, rebuilt, is the `cause`) or `'closed'` (the workers were closed).
 * Code `ERR_SLABIO_WORKER`.
 */
export class WorkerError extends SlabioError {
  declare readonly code: 'ERR_SLABIO_WORKER';
  /** Which failure: `'start'`, `'exit'`, `'task'` or `'closed'`. */
  readonly reason: 'start' | 'exit' | 'task' | 'closed';
  /** The thread's exit code, for `'exit'` (and `'start'` when it exited while starting). */
  readonly exitCode: number | undefined;

  constructor(
    reason: 'start' | 'exit' | 'task' | 'closed',
    message: string,
    options?: SlabioErrorOptions & { exitCode?: number | undefined },
  ) {
    super('ERR_SLABIO_WORKER', `render worker: ${message}`, options);
    this.reason = reason;
    this.exitCode = options?.exitCode;
  }
}

/**
 * Every error class slabio throws, as one union discriminated by `code`: after
 * {@link isSlabioError}, `switch (err.code)` narrows `err` itself to the class of that code, so
 * its fields (`limit`, `requested`, `reason`, …) are typed in each case.
 */
export type AnySlabioError =
  | PoolExhaustedError
  | SlabioTimeoutError
  | DoubleReleaseError
  | UseAfterReleaseError
  | ClosedError
  | LimitExceededError
  | LengthMismatchError
  | BadInputError
  | UnsafeArchiveError
  | UnsupportedError
  | DestinationError
  | CgroupError
  | WorkerError;

/**
 * Whether `value` is one of slabio's errors; typed as {@link AnySlabioError}, so a `switch` on
 * its `code` narrows it (`instanceof SlabioError` narrows only to the base class).
 *
 * @example
 * ```ts
 * if (isSlabioError(err)) {
 *   switch (err.code) {
 *     case 'ERR_SLABIO_LIMIT':
 *       return res.writeHead(413).end(`over ${err.limit} bytes`);
 *     case 'ERR_SLABIO_POOL_EXHAUSTED':
 *       return res.writeHead(503).end();
 *   }
 * }
 * ```
 */
export function isSlabioError(value: unknown): value is AnySlabioError {
  return value instanceof SlabioError;
}
