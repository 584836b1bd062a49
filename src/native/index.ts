export { nativeAvailable, nativeLoadError } from './binding.js';
export { type MallocInfo, mallocInfo, mallocTrim } from './malloc.js';
