/** FIFOs, writers and descriptor counts for the tests of reads that wait on a pipe or device. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { eventually, within } from './helpers.js';

/** Why the FIFO tests cannot run here, or `null` when they can. */
export function fifoSkipReason(): string | null {
  if (process.platform !== 'linux') return 'FIFO semantics are checked on Linux';
  if (!fs.existsSync('/proc/self/fd')) return 'needs /proc/self/fd to see open descriptors';
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'needs mkfifo';
  }
  return null;
}

/** Our descriptors open on `file` (found through /proc/self/fd), except those in `except`. */
export function openDescriptors(file: string, except: readonly number[] = []): number[] {
  const fds: number[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (except.includes(fd)) continue;
    try {
      if (fs.readlinkSync(`/proc/self/fd/${name}`) === file) fds.push(fd);
    } catch {
      // closed while we looked (the readdir's own descriptor)
    }
  }
  return fds;
}

/** FIFOs in a fresh directory, and the writers on them; all gone after the test. */
export class FifoLab {
  readonly dir: string;
  readonly #fifos: string[] = [];
  readonly #children: ChildProcess[] = [];
  readonly #writerFds: number[] = [];

  constructor(t: TestContext) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabio-fifo-'));
    t.after(() => this.#cleanup());
  }

  /** A new FIFO (one per case, so no writer of an earlier case is still on it). */
  fifo(): string {
    const file = path.join(this.dir, `fifo-${this.#fifos.length}`);
    execFileSync('mkfifo', [file]);
    this.#fifos.push(file);
    return file;
  }

  /** Wait (bounded) until this process holds `file` open, i.e. the reader's open returned. */
  readerOpen(file: string): Promise<boolean> {
    return eventually(() => openDescriptors(file, this.#writerFds).length > 0);
  }

  /**
   * Open a writer in this process that writes nothing and stays open until the test ends.
   * Non-blocking: it needs the reader to be open already (else `ENXIO`).
   */
  holdWriter(file: string): number {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    this.#writerFds.push(fd);
    return fd;
  }

  /** A writer process (`cat`) that opens `file`, writes `data` and closes; resolves at its exit. */
  writeAndClose(file: string, data: Uint8Array): Promise<void> {
    const child = spawn('sh', ['-c', 'exec cat > "$1"', 'sh', file], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    this.#children.push(child);
    child.stdin?.on('error', () => {}); // EPIPE when the reader stopped early (a limit)
    child.stdin?.end(data);
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * A writer process that opens `file` (waiting for a reader, as writers do), writes nothing and
   * holds it open until `release()`; `exited` resolves once it is gone.
   */
  writerProcess(file: string): { release(): void; exited: Promise<void> } {
    const child = spawn('sh', ['-c', 'exec 3>"$1"; exec cat > /dev/null', 'sh', file], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    this.#children.push(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { release: () => child.stdin?.end(), exited };
  }

  /** A process holding a pseudo-terminal; resolves with the terminal's path, or null without python3. */
  async terminal(): Promise<string | null> {
    const script =
      'import os,pty,sys,time\nm,s=pty.openpty()\nprint(os.ttyname(s),flush=True)\nsys.stdin.read()';
    let child: ChildProcess;
    try {
      child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    this.#children.push(child);
    return new Promise((resolve) => {
      child.once('error', () => resolve(null));
      child.stdout?.once('data', (line: Buffer) => resolve(line.toString().trim() || null));
      child.once('exit', () => resolve(null));
    });
  }

  async #cleanup(): Promise<void> {
    for (const fd of this.#writerFds.splice(0)) fs.closeSync(fd);
    for (const child of this.#children.splice(0)) {
      child.stdin?.destroy();
      child.kill();
    }
    // When the code under test regresses to blocking open(2)/read(2), readers stuck in the kernel
    // hold thread-pool threads, and the process cannot exit until they return: a writer that
    // comes and goes ends them. Queued opens enter the kernel as threads free up, so repeat until
    // three rounds (10 ms apart) find no reader; bounded, and a single round when nothing is stuck.
    for (let idle = 0, round = 0; idle < 3 && round < 300; round++) {
      let woke = 0;
      for (const file of this.#fifos) {
        try {
          fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
          woke++;
        } catch {
          // ENXIO: no reader on it
        }
      }
      idle = woke === 0 ? idle + 1 : 0;
      if (idle < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Abort `controller` and measure how long `p` takes to settle after it (bounded by `ms`). */
export async function abortAndTime(
  controller: AbortController,
  p: Promise<unknown>,
  ms = 3000,
): Promise<{ outcome: Awaited<ReturnType<typeof within>>; ms: number }> {
  const start = performance.now();
  controller.abort();
  const outcome = await within(p, ms);
  return { outcome, ms: performance.now() - start };
}

/** Assert that `outcome` is a rejection with `reason`. */
export function assertRejectedWith(
  outcome: Awaited<ReturnType<typeof within>>,
  reason: unknown,
): void {
  assert.notEqual(outcome, 'pending', 'settles after the abort');
  assert.ok(typeof outcome === 'object' && 'error' in outcome, 'rejects');
  assert.equal(outcome.error, reason);
}

/** What {@link abortWhileWaiting} checks besides the rejection and the closed FIFO. */
export interface AbortCheck {
  /** Hold a writer open (writing nothing) once the reader has the FIFO open. @default false */
  withWriter?: boolean;
  /** A pool that must have no lease in use after the abort. */
  pool?: { stats(): { inUseBytes: number } };
  /** Also check that `pool` leased nothing while nothing had been written. @default false */
  leasesNothing?: boolean;
}

/**
 * Start `start(signal)` on the FIFO `file`, wait until its reader has the FIFO open, abort; then
 * check that it rejected with the signal's reason, opened the FIFO without waiting for a writer,
 * and closed it (and, with `pool`, gave back every lease).
 */
export async function abortWhileWaiting(
  t: TestContext,
  lab: FifoLab,
  file: string,
  start: (signal: AbortSignal) => Promise<unknown>,
  { withWriter = false, pool, leasesNothing = false }: AbortCheck = {},
): Promise<void> {
  const controller = new AbortController();
  const pending = start(controller.signal);
  pending.catch(() => {});
  const opened = await lab.readerOpen(file);
  const writer = withWriter && opened ? [lab.holdWriter(file)] : [];
  // Not a synchronisation: the abort must settle at any point, and nothing outside the reader
  // shows that its read now waits (in the kernel or the event loop). The pause makes it likely
  // that the abort finds it there rather than still on its way.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const heldWhileWaiting = pool?.stats().inUseBytes ?? 0;
  const { outcome, ms } = await abortAndTime(controller, pending);
  t.diagnostic(`abort to settle: ${ms.toFixed(2)} ms`);
  if (leasesNothing) assert.equal(heldWhileWaiting, 0, 'no block leased before data arrives');
  assertRejectedWith(outcome, controller.signal.reason);
  assert.ok(opened, 'the FIFO was opened without waiting for a writer');
  if (pool !== undefined) assert.equal(pool.stats().inUseBytes, 0, 'no lease in use');
  assert.deepEqual(openDescriptors(file, writer), [], 'the FIFO is closed');
}
