export {
  type NativeOrigin,
  type NativeSource,
  nativeAvailable,
  nativeLoadError,
  nativeOrigin,
} from './binding.js';
export { type Capabilities, type Capability, capabilities } from './capabilities.js';
export { type MallocInfo, mallocInfo, mallocTrim } from './malloc.js';
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
} from './syscalls.js';
