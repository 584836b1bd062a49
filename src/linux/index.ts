/**
 * `slabio/linux`: the Linux primitives the rest of slabio is built on, for callers who need one
 * directly — raw `posix_fadvise`, `preadv2`/`pwritev2` with `RWF_*` flags, `sync_file_range`,
 * glibc's malloc counters and trim, the addon's load state, and locating the memory cgroup.
 *
 * These are low level: they take file descriptors, do one syscall each and leave policy (when to
 * flush, what to drop) to the caller. Services normally want the root entry instead
 * (`writeFileNoCache`, `readFileNoCache`, `MemoryGuard`, `capabilities`). Without the addon every
 * syscall here throws `ERR_SLABIO_UNSUPPORTED`; check `nativeAvailable()` first.
 *
 * @module
 */
export {
  type CgroupLocation,
  locateMemoryCgroup,
  type ReadTextFile,
} from '../memory/cgroup-locate.js';
export {
  type NativeOrigin,
  type NativeSource,
  nativeAvailable,
  nativeLoadError,
  nativeOrigin,
} from '../native/binding.js';
export { type MallocInfo, mallocInfo, mallocTrim } from '../native/malloc.js';
export {
  type FadviseAdvice,
  fadvise,
  IOV_MAX,
  preadv2,
  pwritev2,
  type SyncFileRangeFlags,
  type SyscallOptions,
  syncFileRange,
  type VectorIoOptions,
} from '../native/syscalls.js';
