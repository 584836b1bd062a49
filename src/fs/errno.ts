/** Reading errno names off the errors the native calls reject with. Internal. @module */

/** The errno name of a native call's error (`SystemError.errno`), if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'string' ? errno : undefined;
}

/**
 * Whether a filesystem refused `RWF_DONTCACHE`: `EOPNOTSUPP` (named `ENOTSUP` by some libcs: the
 * same number on Linux) where the filesystem does not do uncached buffered IO, `EINVAL` from
 * kernels that do not know the flag.
 */
export function refusedDontcache(err: unknown): boolean {
  const errno = errnoOf(err);
  return errno === 'EOPNOTSUPP' || errno === 'ENOTSUP' || errno === 'EINVAL';
}
