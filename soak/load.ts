/**
 * The load generator: `concurrency` client loops over loopback, each sending one request at a
 * time until the duration is over, only while the supervisor has a ready instance (as a Service
 * routes only to ready endpoints). Most loops draw a kind of client per request; a few are slow
 * clients only, so their long requests do not crowd out the rest. Every request has a deadline.
 *
 * Uploads, non-image bodies and scrapes go through undici (a keep-alive pool, as an ingress or a
 * service mesh would hold); the clients it cannot play (byte-at-a-time bodies, resets mid-body,
 * bodies refused while they are being sent) through {@link rawRequest}.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { SoakInputs } from './inputs.js';
import { type RawResult, rawRequest } from './raw-http.js';
import type { Supervisor } from './supervisor.js';
import type { Kind, Outcome } from './types.js';

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  port: number;
  /** Client loops (connections in use at once). */
  concurrency: number;
  durationMs: number;
  /** Deadline of each request, ms. */
  deadlineMs: number;
  /** The service's upload limit: over-limit bodies are 1.5 times it. */
  uploadMaxBytes: number;
  inputs: SoakInputs;
  supervisor: Supervisor;
  /** `performance.now()` at the soak's start. */
  t0: number;
}

/** How often each kind is drawn by the mixed loops (relative weights). */
export const MIX: ReadonlyArray<[Kind, number]> = [
  ['upload', 34],
  ['upload-chunked', 26],
  ['reset', 12],
  ['non-image', 8],
  ['over-limit', 5],
  ['over-limit-chunked', 5],
  ['metrics', 5],
];

/** xorshift32, seeded per loop so a run's sequence of kinds is the same every time. */
function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function draw(r: () => number): Kind {
  const total = MIX.reduce((s, [, w]) => s + w, 0);
  let at = r() * total;
  for (const [kind, w] of MIX) {
    at -= w;
    if (at < 0) return kind;
  }
  return 'upload';
}

const MIME = { jpeg: 'image/jpeg', png: 'image/png' } as const;

/** See the module comment. */
export class LoadGenerator {
  readonly #o: LoadOptions;
  readonly #pool: Pool;
  readonly #overLimitBody: Buffer;
  readonly outcomes: Outcome[] = [];
  #nextId = 1;
  /** Requests sent and not ended. */
  inFlight = 0;

  constructor(o: LoadOptions) {
    this.#o = o;
    this.#pool = new Pool(`http://127.0.0.1:${o.port}`, {
      connections: o.concurrency,
      headersTimeout: o.deadlineMs,
      bodyTimeout: o.deadlineMs,
    });
    const n = Math.ceil(o.uploadMaxBytes * 1.5);
    this.#overLimitBody = Buffer.alloc(n);
    for (let at = 0; at < n; at += o.inputs.noise.length)
      o.inputs.noise.copy(this.#overLimitBody, at);
  }

  /** Slow-client loops: a sixteenth of the loops, at least two. */
  get slowLoops(): number {
    return Math.max(2, Math.round(this.#o.concurrency / 16));
  }

  /** Run every loop to the end of the duration and until its last request ended. */
  async run(): Promise<void> {
    const endAt = performance.now() + this.#o.durationMs;
    const loops = Array.from({ length: this.#o.concurrency }, (_, i) =>
      this.#loop(i, i < this.slowLoops, endAt),
    );
    await Promise.all(loops);
  }

  /** Close the keep-alive connections. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #loop(index: number, slow: boolean, endAt: number): Promise<void> {
    const r = rng(index + 1);
    for (let n = 0; performance.now() < endAt; n++) {
      // Wait for a ready endpoint, but not past the end of the run.
      const stop = new AbortController();
      const left = endAt - performance.now();
      const inst = await Promise.race([
        this.#o.supervisor.whenReady(),
        sleep(left, null, { signal: stop.signal }).catch(() => null),
      ]);
      stop.abort();
      if (inst === null || performance.now() >= endAt) return;
      const kind: Kind = slow ? 'slow' : draw(r);
      const id = this.#nextId++;
      const startMs = performance.now() - this.#o.t0;
      this.inFlight++;
      let res: RawResult;
      try {
        res = await this.#send(kind, id, r, n);
      } catch (err) {
        res = { outcome: 'conn-error', error: (err as Error).message };
      } finally {
        this.inFlight--;
      }
      this.outcomes.push({
        id,
        kind,
        instance: inst.id,
        startMs: Math.round(startMs),
        endMs: Math.round(performance.now() - this.#o.t0),
        ...res,
      });
    }
  }

  #send(kind: Kind, id: number, r: () => number, n: number): Promise<RawResult> {
    const { inputs, port, deadlineMs } = this.#o;
    const image = inputs.images[Math.floor(r() * inputs.images.length)] ?? inputs.images[0];
    if (image === undefined) throw new Error('no input images');
    const rid = { 'x-request-id': String(id) };
    const raw = { port, method: 'POST', path: '/thumbnail', deadlineMs, intervalMs: 0 };
    const undici = (path: string, body: Buffer | null, chunked: boolean, type: string) =>
      this.#undici(path, body, chunked, {
        ...rid,
        ...(type === '' ? {} : { 'content-type': type }),
      });
    switch (kind) {
      case 'upload':
        return undici('/thumbnail', image.bytes, false, MIME[image.format]);
      case 'upload-chunked':
        return undici('/thumbnail', image.bytes, true, MIME[image.format]);
      case 'non-image': {
        const len = 1024 + Math.floor(r() * 255 * 1024);
        return undici('/thumbnail', inputs.noise.subarray(0, len), false, 'image/jpeg');
      }
      case 'metrics':
        return undici('/metrics', null, false, '');
      case 'over-limit':
      case 'over-limit-chunked':
        return rawRequest({
          ...raw,
          headers: rid,
          body: this.#overLimitBody,
          chunked: kind === 'over-limit-chunked',
          pieceBytes: 64 * 1024,
        });
      case 'reset':
        return rawRequest({
          ...raw,
          headers: { ...rid, 'content-type': MIME[image.format] },
          body: image.bytes,
          chunked: n % 2 === 1,
          pieceBytes: 16 * 1024,
          intervalMs: 2,
          resetAfterBytes: Math.floor(image.bytes.length * (0.3 + 0.4 * r())),
        });
      case 'slow': {
        const tiny = inputs.tiny[n % inputs.tiny.length] ?? inputs.tiny[0];
        if (tiny === undefined) throw new Error('no tiny images');
        return rawRequest({
          ...raw,
          headers: { ...rid, 'content-type': 'image/png' },
          body: tiny,
          chunked: false,
          pieceBytes: 1,
          intervalMs: 100,
        });
      }
    }
  }

  async #undici(
    path: string,
    body: Buffer | null,
    chunked: boolean,
    headers: Record<string, string>,
  ): Promise<RawResult> {
    const signal = AbortSignal.timeout(this.#o.deadlineMs);
    try {
      const res = await this.#pool.request({
        method: body === null ? 'GET' : 'POST',
        path,
        headers,
        // A stream has no length: undici sends it with transfer-encoding: chunked.
        body: body === null ? null : chunked ? Readable.from(pieces(body, 64 * 1024)) : body,
        signal,
      });
      // Read to the end: a response counts only once its whole body is in.
      for await (const _ of res.body) {
      }
      return { outcome: 'response', status: res.statusCode };
    } catch (err) {
      if (signal.aborted) return { outcome: 'deadline', error: 'deadline' };
      const e = err as NodeJS.ErrnoException;
      return { outcome: 'conn-error', error: e.code ?? e.message };
    }
  }
}

/** `bytes` as an async iterable of `size`-byte slices (no length known to the sender). */
async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
