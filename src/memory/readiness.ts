/**
 * Readiness for Kubernetes probes: one gate that turns unready when the service starts draining
 * or a check (such as the memory guard past its hard threshold) says so.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Something that can say whether the service should get traffic, like `MemoryGuard`. */
export interface ReadinessCheck {
  ready(): boolean;
}

/** Options of {@link ReadinessGate}. */
export interface ReadinessGateOptions {
  /** Checks that must all be ready, e.g. `[guard]`. @default [] */
  checks?: ReadinessCheck[];
}

/**
 * A readiness flag with a tiny HTTP handler: `200 ready` or `503 <reason>`, never cached.
 *
 * @example
 * ```ts
 * const gate = new ReadinessGate({ checks: [guard] });
 * http.createServer((req, res) => (req.url === '/ready' ? gate.handler(req, res) : app(req, res)));
 * // later: drainAndExit(server, { readiness: gate });
 * ```
 */
export class ReadinessGate implements ReadinessCheck {
  readonly #checks: ReadinessCheck[];
  #failed: string | null = null;

  constructor(options: ReadinessGateOptions = {}) {
    this.#checks = [...(options.checks ?? [])];
  }

  /** True while not failed and every check is ready. */
  ready(): boolean {
    return this.reason === null;
  }

  /** Why the gate is not ready (`null` when it is). */
  get reason(): string | null {
    if (this.#failed !== null) return this.#failed;
    const i = this.#checks.findIndex((c) => !c.ready());
    return i < 0 ? null : `check ${i} not ready`;
  }

  /** Turn unready for good (a draining service does not come back). The first reason is kept. */
  fail(reason = 'draining'): void {
    this.#failed ??= reason;
  }

  /** Request handler for the probe path; answers `HEAD` without a body. */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    const reason = this.reason;
    const body = reason === null ? 'ready\n' : `not ready: ${reason}\n`;
    res.writeHead(reason === null ? 200 : 503, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
