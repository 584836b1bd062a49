export * from './cgroup.js';
export { type CgroupLocation, locateMemoryCgroup, type ReadTextFile } from './cgroup-locate.js';
