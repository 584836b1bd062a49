export type { GuardBlindness } from './blindness.js';
export * from './cgroup.js';
export {
  type DrainAndExitOptions,
  type DrainResult,
  drainAndExit,
  trackConnections,
} from './drain.js';
export { MemoryGuard } from './guard.js';
export type {
  GuardRecovery,
  GuardSample,
  GuardState,
  GuardStats,
  GuardUnblind,
  MemoryGuardEvents,
  MemoryGuardOptions,
  TrimmablePool,
} from './guard-types.js';
export {
  defaultPageCacheRegistry,
  PageCacheRegistry,
  type PageCacheRegistryOptions,
  trackFile,
} from './page-cache-registry.js';
export { type ReadinessCheck, ReadinessGate, type ReadinessGateOptions } from './readiness.js';
export type { ReliefReport } from './relief.js';
export type { GuardThrottle } from './throttle.js';
export type { GuardWakeMode } from './wake.js';
