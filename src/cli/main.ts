#!/usr/bin/env node
/**
 * The `slabio` command: `slabio inspect [dir] [--json]`, `slabio watch [--interval ms]`,
 * `slabio sweep DIR [--max-age d] [--dry-run] [--json]`.
 * Exit code 0 on success, 1 when a reading failed (`inspect` still prints the rest of its report
 * when the cgroup cannot be read; for `sweep`, also when a stale entry could not be removed), 2 for
 * bad usage.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CgroupError } from '../errors.js';
import { sweepStale } from '../fs/index.js';
import { fsErrorText } from './format.js';
import { formatInspect, inspect } from './inspect.js';
import { formatSweep, parseDuration, sweepJson } from './sweep.js';
import { watch } from './watch.js';

const HELP = `Usage:
  slabio inspect [dir] [--json] [--top n]   memory as Kubernetes sees it, allocator, page-cache
                                            control, the files in dir holding the most cache, advice
  slabio watch [--interval ms] [--count n]  refreshing view with a working-set sparkline (Ctrl-C stops)
  slabio sweep DIR [--max-age 24h] [--dry-run] [--json]
                                            remove temp files of slabio writers that were killed
                                            mid-write; --max-age (ms, s, m, h, d or never) for
                                            those whose owner cannot be checked from here

Options:
  --cgroup-dir path   read this cgroup directory instead of the process's own (sidecars)
  --json              machine-readable output (inspect, sweep)
  -h, --help          this text
  -v, --version       the slabio version
`;

const BLIND =
  'The memory cgroup cannot be read: a MemoryGuard reading it is blind (no samples, no soft or hard actions; see stats().blind).\n';

function usage(message: string): number {
  process.stderr.write(`slabio: ${message}\n\n${HELP}`);
  return 2;
}

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  const reader = values['cgroup-dir'] === undefined ? {} : { cgroupDir: values['cgroup-dir'] };
  try {
    if (command === 'inspect') {
      if (rest.length > 1) return usage(`inspect takes one directory, got ${rest.length}`);
      const top = intOption('top', values.top);
      const report = await inspect({
        reader,
        ...(rest[0] === undefined ? {} : { dir: rest[0] }),
        ...(top === undefined ? {} : { top }),
      });
      process.stdout.write(
        values.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report),
      );
      if (report.dirError !== null) {
        process.stderr.write(
          `slabio inspect: cannot read ${report.dirError.dir}: ${report.dirError.message}\n`,
        );
      }
      if (report.memoryError !== null) {
        process.stderr.write(
          `slabio inspect: ${report.memoryError.code}: ${report.memoryError.message}\n${BLIND}`,
        );
      }
      return report.memoryError === null && report.dirError === null ? 0 : 1;
    }
    if (command === 'watch') {
      if (rest.length > 0) return usage('watch takes no arguments');
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      try {
        const intervalMs = intOption('interval', values.interval);
        const count = intOption('count', values.count);
        await watch({
          reader,
          signal: ac.signal,
          ...(intervalMs === undefined ? {} : { intervalMs }),
          ...(count === undefined ? {} : { count }),
        });
      } finally {
        process.off('SIGINT', stop);
      }
      return 0;
    }
    if (command === 'sweep') {
      if (rest.length !== 1) return usage(`sweep takes one directory, got ${rest.length}`);
      const maxAge = values['max-age'];
      const dryRun = values['dry-run'] === true;
      const result = await sweepStale(rest[0] as string, {
        dryRun,
        ...(maxAge === undefined ? {} : { maxAgeMs: parseDuration(maxAge) }),
      });
      process.stdout.write(values.json ? sweepJson(result) : formatSweep(result, dryRun));
      return result.failed.length > 0 ? 1 : 0;
    }
    return usage(`unknown command "${command}"`);
  } catch (err) {
    if (err instanceof RangeError) return usage(err.message);
    const e = err as Error & { code?: string };
    // A SlabioError's message does not repeat its code; Node's fs errors' messages start with it.
    const text = e.code?.startsWith('ERR_SLABIO_') ? `${e.code}: ${e.message}` : fsErrorText(e);
    process.stderr.write(`slabio ${command}: ${text}\n`);
    if (err instanceof CgroupError) process.stderr.write(BLIND);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      top: { type: 'string' },
      interval: { type: 'string' },
      count: { type: 'string' },
      'cgroup-dir': { type: 'string' },
      'max-age': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
