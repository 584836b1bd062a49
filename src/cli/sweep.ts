/**
 * `slabio sweep DIR`: remove the temp files and directories of slabio writers that were killed
 * mid-write (see `sweepStale`).
 *
 * @module
 */
import type { SweepResult } from '../fs/index.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * `--max-age`: a number with a unit (`90s`, `30m`, `24h`, `7d`, `500ms`) or `never`.
 *
 * @throws {RangeError} for anything else, naming the option.
 */
export function parseDuration(text: string): number {
  if (text === 'never') return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (m === null) {
    throw new RangeError(
      `--max-age must be a number with a unit (ms, s, m, h, d) or never, got ${text}`,
    );
  }
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** `93_000` → `1m33s`. */
function age(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d`;
}

function owner(pid: number | null): string {
  return pid === null ? 'no owner in the name' : `pid ${pid}`;
}

/** The human-readable report of a sweep. */
export function formatSweep(r: SweepResult, dryRun: boolean): string {
  const lines: string[] = [];
  const verb = dryRun ? 'would remove' : 'removed';
  for (const e of r.removed) {
    lines.push(`${verb} ${e.path}  (${e.reason}, ${owner(e.pid)}, unmodified ${age(e.ageMs)})`);
  }
  for (const e of r.kept) {
    lines.push(`kept ${e.path}  (${e.reason}, ${owner(e.pid)}, unmodified ${age(e.ageMs)})`);
  }
  for (const f of r.failed) {
    const code = (f.error as NodeJS.ErrnoException).code;
    lines.push(`failed ${f.path}  (${code ?? f.error.message})`);
  }
  lines.push(
    `slabio sweep ${r.dir}: ${r.removed.length} ${verb}, ${r.kept.length} kept, ${r.failed.length} failed`,
  );
  return `${lines.join('\n')}\n`;
}

/** The JSON report: errors as `{ path, code, message }`. */
export function sweepJson(r: SweepResult): string {
  const failed = r.failed.map((f) => ({
    path: f.path,
    code: (f.error as NodeJS.ErrnoException).code ?? null,
    message: f.error.message,
  }));
  return `${JSON.stringify({ ...r, failed }, null, 2)}\n`;
}
