export * from './cgroup.js';
export {
  type DrainAndExitOptions,
  type DrainResult,
  drainAndExit,
  trackConnections,
} from './drain.js';
export {
  type GuardBlindness,
  type GuardRecovery,
  type GuardSample,
  type GuardState,
  type GuardStats,
  type GuardThrottle,
  type GuardUnblind,
  type GuardWakeMode,
  MemoryGuard,
  type MemoryGuardEvents,
  type MemoryGuardOptions,
  type ReliefReport,
  type TrimmablePool,
} from './guard.js';
export {
  defaultPageCacheRegistry,
  PageCacheRegistry,
  type PageCacheRegistryOptions,
  trackFile,
} from './page-cache-registry.js';
export { type ReadinessCheck, ReadinessGate, type ReadinessGateOptions } from './readiness.js';
