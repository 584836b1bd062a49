/**
 * The soak's command line.
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** What one soak run does. */
export interface SoakOptions {
  quick: boolean;
  durationS: number;
  concurrency: number;
  deadlineS: number;
  /** Memory limit of the service's cgroup, MiB. */
  limitMiB: number;
  /** The service's BufferPool budget, MiB. */
  poolMiB: number;
  /** The service's largest accepted upload, MiB. */
  uploadMaxMiB: number;
  /** When to SIGTERM the service, seconds after load started. */
  drainAtS: number[];
  out: string | undefined;
  cgroupPrefix: string;
  help: boolean;
}

/** Usage text. */
export const USAGE = `usage: npm run soak -- [--quick] [--duration S] [--concurrency N] [--deadline S]
                       [--drain-at S,S] [--limit-mib N] [--pool-mib N] [--upload-max-mib N] [--out DIR]
  --quick            a short run for CI: 20 s of load (about 30 s in all)
  --duration S       seconds of load (default 60)
  --concurrency N    client loops, 1 to 1024 (default 64)
  --deadline S       deadline of every request, seconds (default 30)
  --drain-at S,S     seconds after load starts at which the service gets SIGTERM
                     (default 15% and 35% of the duration; --quick: 25%)
  --limit-mib N      memory limit of the service's cgroup (default 512)
  --pool-mib N       the service's BufferPool budget, at least 16 (default 24)
  --upload-max-mib N the service's upload limit (default 4)
  --out DIR          where results.json, chart.svg and table.txt go (default soak-results/)
  --cgroup-prefix P  name prefix of the child cgroup (default slabio-soak-<pid>)`;

function num(name: string, text: string, min: number, max: number): number {
  const v = Number(text);
  if (!(Number.isFinite(v) && v >= min && v <= max)) {
    throw new RangeError(`--${name} must be a number from ${min} to ${max}, got ${text}`);
  }
  return v;
}

/**
 * Parse `argv` (without node and the script).
 * @throws {RangeError} naming the flag and the bad value.
 */
export function parseSoakArgs(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      concurrency: { type: 'string', default: '64' },
      deadline: { type: 'string', default: '30' },
      'drain-at': { type: 'string' },
      'limit-mib': { type: 'string', default: '512' },
      'pool-mib': { type: 'string', default: '24' },
      'upload-max-mib': { type: 'string', default: '4' },
      out: { type: 'string' },
      'cgroup-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick;
  const durationS = num('duration', values.duration ?? (quick ? '20' : '60'), 5, 24 * 3600);
  const drainAtS =
    values['drain-at'] === undefined
      ? (quick ? [0.25] : [0.15, 0.35]).map((f) => Math.round(durationS * f))
      : values['drain-at']
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((s) => num('drain-at', s.trim(), 0, durationS));
  return {
    quick,
    durationS,
    concurrency: Math.round(num('concurrency', values.concurrency, 1, 1024)),
    deadlineS: num('deadline', values.deadline, 1, 600),
    limitMiB: num('limit-mib', values['limit-mib'], 64, 64 * 1024),
    poolMiB: num('pool-mib', values['pool-mib'], 16, 16 * 1024),
    uploadMaxMiB: num('upload-max-mib', values['upload-max-mib'], 1, 1024),
    drainAtS,
    out: values.out,
    cgroupPrefix: values['cgroup-prefix'] ?? `slabio-soak-${process.pid}`,
    help: values.help,
  };
}
