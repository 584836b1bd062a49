/**
 * Graceful shutdown for an `http.Server` under memory pressure: fail readiness, stop accepting,
 * let in-flight requests finish up to a deadline, then exit with a chosen code.
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { debug } from '../debug.js';
import {
  checkObject,
  checkSignal,
  functionOption,
  intOption,
  numberOption,
  objectOption,
} from '../validate.js';

/** Options of {@link drainAndExit}. */
export interface DrainAndExitOptions {
  /** Longest wait for in-flight requests before the remaining connections are cut, in ms. @default 10000 */
  deadlineMs?: number;
  /** Exit code passed to `exit`. @default 0 */
  exitCode?: number;
  /** Failed first, so the load balancer stops sending traffic; e.g. a `ReadinessGate`. */
  readiness?: { fail(reason?: string): void };
  /**
   * Time to keep serving after failing readiness and before closing the listener, so the
   * endpoint leaves the Service first (≈ probe period × failure threshold). @default 0
   */
  graceMs?: number;
  /** Called with the exit code at the end; `false` to return instead. @default process.exit */
  exit?: ((code: number) => void) | false;
  /** Aborting stops waiting: connections are cut at once, then `exit` runs. */
  signal?: AbortSignal;
}

/** How the drain went. */
export interface DrainResult {
  /** Open connections when the listener closed. */
  connectionsAtClose: number;
  /** Whether every connection ended by itself before the deadline. */
  completed: boolean;
  /** The exit code used. */
  exitCode: number;
}

const POLL_MS = 25;
/**
 * Longest wait for `server.close()` after the remaining sockets were destroyed. A socket the
 * drain never saw (upgraded before {@link trackConnections} ran) keeps `close()` pending
 * forever: the drain ends anyway.
 */
const CUT_WAIT_MS = 1000;

/** Every socket of a tracked server, including upgraded ones, until it closes. */
const tracked = new WeakMap<Server, Set<Duplex>>();

/**
 * Start remembering every socket `server` accepts, so {@link drainAndExit} can cut connections
 * that `closeAllConnections()` does not see: sockets handed to an `'upgrade'` listener
 * (WebSocket) are no longer HTTP connections to Node, yet `server.close()` waits for them.
 * `drainAndExit` calls this itself, which covers connections opened or upgraded during the
 * drain; call it right after creating the server to cover sockets upgraded before. Idempotent.
 *
 * @example
 * ```ts
 * const server = http.createServer(app);
 * trackConnections(server); // before listen(), so upgraded sockets are cut at the deadline
 * ```
 */
export function trackConnections(server: Server): void {
  if (tracked.has(server)) return;
  const sockets = new Set<Duplex>();
  tracked.set(server, sockets);
  const add = (socket: Duplex) => {
    if (sockets.has(socket) || socket.destroyed) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', add);
  // With TLS, 'connection' sees the TCP socket and 'upgrade' the TLS socket on top of it.
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => add(socket));
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}

/**
 * Drain `server` and exit: fail `readiness`, wait `graceMs`, close the listener (new connections
 * are refused), answer requests that still arrive on open keep-alive connections with
 * `Connection: close`, close connections as they go idle, wait for in-flight requests up to
 * `deadlineMs`, cut what is left (upgraded sockets included, see {@link trackConnections}), and
 * call `exit(exitCode)`. The drain always ends: a socket it cannot cut is left open.
 *
 * @throws {RangeError} for a negative or non-finite `deadlineMs`/`graceMs` or a non-integer
 * `exitCode` (`TypeError` for an option of the wrong type).
 * @example
 * ```ts
 * const guard = new MemoryGuard({ onHard: () => void drainAndExit(server, { readiness: gate, exitCode: 75 }) });
 * ```
 */
export async function drainAndExit(
  server: Server,
  options: DrainAndExitOptions = {},
): Promise<DrainResult> {
  checkObject('options', options);
  const deadlineMs = numberOption('options.deadlineMs', options.deadlineMs, 10_000);
  const graceMs = numberOption('options.graceMs', options.graceMs, 0);
  const exitCode = intOption('options.exitCode', options.exitCode, 0, {
    min: Number.MIN_SAFE_INTEGER,
  });
  const readiness = objectOption('options.readiness', options.readiness);
  const exit = options.exit === false ? false : functionOption('options.exit', options.exit);
  const signal = checkSignal(options.signal);
  trackConnections(server);
  readiness?.fail('draining');
  debug('drain: readiness failed, closing in %d ms', graceMs);
  if (graceMs > 0 && signal?.aborted !== true) {
    await sleep(graceMs, undefined, { signal }).catch(() => undefined);
  }

  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.prependListener('request', onRequest);
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    server.close(() => resolve());
  });
  const connectionsAtClose = await connections(server);
  let done = false;
  void closed.then(() => {
    done = true;
  });
  const deadline = performance.now() + deadlineMs;
  // server.close() drops idle keep-alive connections only once; a connection whose request
  // finishes later goes idle and would hold the drain until keepAliveTimeout.
  while (!done && performance.now() < deadline && signal?.aborted !== true) {
    server.closeIdleConnections();
    await Promise.race([closed, sleep(POLL_MS)]);
  }
  const completed = done;
  if (!completed) {
    debug('drain: deadline or abort, cutting %d connections', await connections(server));
    server.closeAllConnections();
    // closeAllConnections() skips upgraded sockets, and close() waits for them.
    for (const socket of tracked.get(server) ?? []) socket.destroy();
    const stop = new AbortController();
    await Promise.race([
      closed,
      sleep(CUT_WAIT_MS, undefined, { signal: stop.signal }).catch(() => undefined),
    ]);
    stop.abort();
  }
  server.removeListener('request', onRequest);
  if (exit !== false) (exit ?? process.exit)(exitCode);
  return { connectionsAtClose, completed, exitCode };
}
