/** Writers killed mid-write, and temp names made up from real ones, for the sweep tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildZip } from './zip-helpers.js';

const ROOT_URL = new URL('../src/index.js', import.meta.url).href;
const ZIP_URL = new URL('../src/integrations/zip/index.js', import.meta.url).href;

/** What the child is doing when it stalls. */
export type WriterMode = 'writeFile' | 'stream' | 'spool' | 'staging';

/** The temp entry each mode leaves while it stalls. */
export const KIND: Record<WriterMode, string> = {
  writeFile: 'tmp',
  stream: 'tmp',
  spool: 'spool',
  staging: 'staging',
};

// The source never ends and the onEntry callback never settles: the child stalls with its temp
// entry in place until it is killed, and says so on stdout once the writer waits for more (the
// temp entry is open, the capability probe done). The interval keeps its event loop alive.
const CHILD = `
const { join } = await import('node:path');
const { writeFileNoCache, createNoCacheWriteStream } = await import(process.env.ROOT_URL);
const { extractZip } = await import(process.env.ZIP_URL);
const dir = process.env.DIR;
const name = process.env.NAME;
const stalled = () => { process.stdout.write('stalled\\n'); return new Promise(() => {}); };
async function* source() { yield Buffer.alloc(4096, 1); await stalled(); }
setInterval(() => {}, 1 << 30);
const fail = (err) => { console.error(err); process.exit(3); };
switch (process.env.MODE) {
  case 'writeFile': writeFileNoCache(join(dir, name), source(), { atomic: true }).catch(fail); break;
  case 'stream': createNoCacheWriteStream(join(dir, name), { atomic: true }).on('error', fail).write(Buffer.alloc(4096), stalled); break;
  case 'spool': extractZip(source(), join(dir, name)).catch(fail); break;
  case 'staging': extractZip(join(dir, 'input.zip'), join(dir, name), { onEntry: stalled }).catch(fail); break;
}
`;

/** A child process stalled in the middle of a write into `dir`, and its temp entry. */
export interface StalledWriter {
  child: ChildProcess;
  /** The temp entry's name in `dir`. */
  entry: string;
  /** With a prefix: the pids of the process's children (the writer, as the host sees it). */
  inner: number[];
  /** SIGKILL it and wait until it is gone (reaped). */
  kill(): Promise<void>;
}

/** Temp entries in `dir` of `kind`. */
export async function tempEntries(dir: string, kind?: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter(
    (n) =>
      /\.slabio-.*\.(tmp|spool|staging|probe|work)$/s.test(n) &&
      (kind === undefined || n.endsWith(`.${kind}`)),
  );
}

/**
 * Start a child that writes `name` into `dir` as `mode` says and stalls; resolves once its temp
 * entry exists. `prefix` runs it under another command (`unshare ...`); `env` adds variables
 * (`SLABIO_NATIVE=0`: no addon, no lock).
 */
export async function startStalledWriter(
  dir: string,
  mode: WriterMode,
  options: { name?: string; env?: Record<string, string>; prefix?: string[] } = {},
): Promise<StalledWriter> {
  const name = options.name ?? (mode === 'spool' || mode === 'staging' ? 'dest' : 'out.bin');
  const before = new Set(await tempEntries(dir));
  const prefix = options.prefix ?? [];
  const argv = [...prefix, process.execPath, '--input-type=module', '-e', CHILD];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: { ...process.env, ROOT_URL, ZIP_URL, DIR: dir, NAME: name, MODE: mode, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = once(child, 'exit');
  let inner: number[] = [];
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Under a prefix the writer is a child of the process we started: kill it too, and wait for it.
    for (const pid of inner) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    child.kill('SIGKILL');
    await exited;
    for (const pid of inner) await gone(pid);
  };
  // Bounded in count and time: 500 polls of 20 ms.
  for (let i = 0; i < 500 && child.exitCode === null; i++) {
    if (stdout.includes('stalled')) {
      const fresh = (await tempEntries(dir, KIND[mode])).filter((n) => !before.has(n));
      if (prefix.length > 0) inner = await childrenOf(child.pid as number);
      if (fresh.length === 1) return { child, entry: fresh[0] as string, inner, kill };
      break;
    }
    await sleep(20);
  }
  await kill();
  throw new Error(
    `the ${mode} writer did not stall with one temp entry in ${dir} (exit ${child.exitCode}, stdout ${JSON.stringify(stdout)}): ${stderr}`,
  );
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/**
 * Wait until `pid` has exited with all its threads: gone, or a zombie nobody reaped yet whose
 * other threads are gone too (the leader turns zombie first; the files, and so the flocks, are
 * let go by the last thread). Bounded: 5 s.
 */
export async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => null);
    const state = stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const threads = await readdir(`/proc/${pid}/task`).catch(() => []);
    if (stat === null || ((state === 'Z' || state === 'X') && threads.length <= 1)) return;
    await sleep(20);
  }
  throw new Error(`pid ${pid} still runs after SIGKILL of its parent`);
}

/** A directory for stalled writers, and how to start one in it. */
export interface WriterDir {
  dir: string;
  start(
    mode: WriterMode,
    options?: Parameters<typeof startStalledWriter>[2],
  ): Promise<StalledWriter>;
}

/**
 * A temp directory (with the `input.zip` the staging writer extracts) whose writers are all
 * killed before it is removed after the test: one after hook, because hooks run in order and a
 * writer still running could recreate what the removal just took.
 */
export async function writerDir(t: TestContext): Promise<WriterDir> {
  const dir = await mkdtemp(join(tmpdir(), 'slabio-sweep-test-'));
  const writers: StalledWriter[] = [];
  t.after(async () => {
    for (const w of writers) await w.kill();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'input.zip'), buildZip([{ name: 'a.txt', data: Buffer.from('a') }]));
  return {
    dir,
    async start(mode, options) {
      const w = await startStalledWriter(dir, mode, options);
      writers.push(w);
      return w;
    },
  };
}

/** The fields of a temp name. */
export interface NameFields {
  base: string;
  lock: 'l' | 'u';
  host: string;
  ns: string;
  pid: string;
  start: string;
  rand: string;
  kind: string;
}

const FORMAT =
  /^\.(.*)\.slabio-v1([lu])\.([bh][0-9a-f]{16})\.(\d+|x)\.(\d+)\.(\d+|x)-([0-9a-f]{12})\.(\w+)$/s;

/** Split a temp name into its fields (the README documents the format). */
export function nameFields(name: string): NameFields {
  const m = FORMAT.exec(name);
  if (m === null) throw new Error(`not a slabio temp name: ${name}`);
  const [, base, lock, host, ns, pid, start, rand, kind] = m as unknown as string[];
  return { base, lock, host, ns, pid, start, rand, kind } as NameFields;
}

/** A temp name from fields. */
export function makeName(f: NameFields): string {
  return `.${f.base}.slabio-v1${f.lock}.${f.host}.${f.ns}.${f.pid}.${f.start}-${f.rand}.${f.kind}`;
}
