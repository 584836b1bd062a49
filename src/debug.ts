/**
 * Diagnostics shared by every slabio module.
 *
 * - `NODE_DEBUG=slabio` prints what slabio does (slab reservations, trims, leaks) to stderr via
 *   `util.debuglog`.
 * - `diagnostics_channel` channels named `slabio:<subsystem>:<event>` carry structured messages for
 *   APM tools and tests; publishing costs nothing while a channel has no subscribers.
 *
 * @module
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/** `util.debuglog('slabio')`: enabled with `NODE_DEBUG=slabio`. */
export const debug = debuglog('slabio');

/**
 * The diagnostics channels slabio publishes on. Subscribe with
 * `diagnostics_channel.subscribe('slabio:pool:slab', fn)`.
 *
 * | channel | message |
 * |---|---|
 * | `slabio:pool:slab` | `{ pool, classSize, bytes }` a slab was reserved |
 * | `slabio:pool:trim` | `{ pool, freedBytes, reason }` idle slabs were dropped: `reason` is `'trim'` (`pool.trim()`, `close()`), `'idle'` (the idle timer), `'spare'` (idle beyond `spareRatio`) or `'evict'` (to make room in the budget) |
 * | `slabio:pool:exhausted` | `{ pool, size, policy }` the budget was spent |
 * | `slabio:pool:wait` | `{ pool, size, outcome: 'queued' }` a request started waiting for memory |
 * | `slabio:pool:leak` | `{ pool, size, stack }` a lease was collected without release |
 * | `slabio:pool:oversize` | `{ pool, size }` a request above the largest class |
 * | `slabio:fs:sweep` | `{ dir, removed, kept, failed, scanned, complete, automatic }` a sweep of stale temp files ran (`automatic`: before a write; `complete: false`: it stopped reading a large directory) |
 */
export const channels = {
  poolSlab: diagnosticsChannel.channel('slabio:pool:slab'),
  poolTrim: diagnosticsChannel.channel('slabio:pool:trim'),
  poolExhausted: diagnosticsChannel.channel('slabio:pool:exhausted'),
  poolWait: diagnosticsChannel.channel('slabio:pool:wait'),
  poolLeak: diagnosticsChannel.channel('slabio:pool:leak'),
  poolOversize: diagnosticsChannel.channel('slabio:pool:oversize'),
  fsSweep: diagnosticsChannel.channel('slabio:fs:sweep'),
} as const;

/** True when `SLABIO_DEBUG` is set to `1`/`true` in the environment. */
export function debugFromEnv(): boolean {
  const v = process.env.SLABIO_DEBUG;
  return v === '1' || v === 'true';
}

const warned = new Set<string>();

/**
 * Emit a coded process warning once per code for the life of the process (lru-cache style).
 * Returns whether it was emitted now.
 */
export function warnOnce(code: string, message: string): boolean {
  if (warned.has(code)) return false;
  warned.add(code);
  process.emitWarning(message, { type: 'SlabioWarning', code });
  return true;
}
