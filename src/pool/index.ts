export { type AcquireOptions, BufferPool } from './buffer-pool.js';
export { defaultSizeClasses } from './class-list.js';
export { DEFAULT_BUDGET_CAP, type DefaultBudget, defaultBudget } from './default-budget.js';
export { getDefaultPool } from './default-pool.js';
export { Lease } from './lease.js';
export { type BufferPoolOptions, defaultMaxBytes, type ExhaustedPolicy } from './options.js';
export type { PoolClassStats, PoolStats } from './stats.js';
