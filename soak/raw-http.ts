/**
 * A tiny HTTP/1.1 client on `node:net` for the clients a load tool does not make: bodies paced
 * byte by byte, uploads abandoned mid-body with `socket.destroy()`, and bodies the service refuses
 * while they are still being sent (the client keeps reading while it writes, as curl does, and
 * stops sending once the answer is in). One request per connection (`connection: close`).
 *
 * @module
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutcomeClass } from './types.js';

/** One raw request. */
export interface RawRequest {
  port: number;
  method: string;
  path: string;
  /** Extra request headers (`host` and `connection: close` are always sent). */
  headers?: Record<string, string>;
  body: Uint8Array;
  /** Send the body with `transfer-encoding: chunked` instead of `content-length`. */
  chunked: boolean;
  /** Declared `content-length` when not chunked. @default body.length */
  declaredLength?: number;
  /** Bytes per write. */
  pieceBytes: number;
  /** Pause between writes, ms (0: as fast as the socket takes them). */
  intervalMs: number;
  /** Destroy the socket after this many body bytes (a client that resets mid-body). */
  resetAfterBytes?: number;
  /** Give up (destroy the socket) after this long, ms. */
  deadlineMs: number;
}

/** How a raw request ended. */
export interface RawResult {
  outcome: OutcomeClass;
  status?: number;
  error?: string;
}

/** Parses one response; `complete` turns true once the whole body is in. */
class ResponseParser {
  #buf: Buffer = Buffer.alloc(0);
  #headersDone = false;
  #length: number | null = null;
  #chunked = false;
  #bodyBytes = 0;
  status = 0;
  complete = false;

  push(data: Buffer): void {
    if (this.complete) return;
    this.#buf = this.#buf.length === 0 ? data : Buffer.concat([this.#buf, data]);
    if (!this.#headersDone) this.#parseHead();
    if (this.#headersDone) this.#parseBody();
  }

  /** The connection closed: a body delimited by the close is complete now. */
  end(): void {
    if (this.#headersDone && this.#length === null && !this.#chunked) this.complete = true;
  }

  #parseHead(): void {
    for (;;) {
      const at = this.#buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      const lines = this.#buf.subarray(0, at).toString('latin1').split('\r\n');
      this.#buf = this.#buf.subarray(at + 4);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      if (status >= 100 && status < 200) continue; // interim (100 Continue): the answer follows
      this.status = status;
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'content-length') this.#length = Number(value);
        if (name === 'transfer-encoding' && /chunked/i.test(value)) this.#chunked = true;
      }
      this.#headersDone = true;
      return;
    }
  }

  #parseBody(): void {
    if (this.#chunked) {
      for (;;) {
        const eol = this.#buf.indexOf('\r\n');
        if (eol < 0) return;
        const size = Number.parseInt(this.#buf.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) {
          // Trailers end with an empty line; none are expected, the terminator is enough.
          if (this.#buf.length >= eol + 4) this.complete = true;
          return;
        }
        if (this.#buf.length < eol + 2 + size + 2) return;
        this.#buf = this.#buf.subarray(eol + 2 + size + 2);
      }
    }
    if (this.#length !== null) {
      this.#bodyBytes += this.#buf.length;
      this.#buf = Buffer.alloc(0);
      if (this.#bodyBytes >= this.#length) this.complete = true;
    }
  }
}

/** Send one request; never rejects, every path ends in a {@link RawResult} by the deadline. */
export function rawRequest(r: RawRequest): Promise<RawResult> {
  return new Promise<RawResult>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: r.port });
    const parser = new ResponseParser();
    let settled = false;
    const finish = (res: RawResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(res);
    };
    const timer = setTimeout(
      () => finish({ outcome: 'deadline', error: `no full response in ${r.deadlineMs} ms` }),
      r.deadlineMs,
    );
    socket.on('data', (d: Buffer) => {
      parser.push(d);
      if (parser.complete) finish({ outcome: 'response', status: parser.status });
    });
    socket.on('end', () => {
      parser.end();
      if (parser.complete) finish({ outcome: 'response', status: parser.status });
      else finish({ outcome: 'conn-error', error: 'closed before a full response' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The answer may be in before the service resets a connection it stopped reading.
      parser.end();
      if (parser.complete) finish({ outcome: 'response', status: parser.status });
      else finish({ outcome: 'conn-error', error: err.code ?? err.message });
    });
    socket.on('close', () => finish({ outcome: 'conn-error', error: 'closed' }));
    socket.once('connect', () => {
      void send(
        r,
        socket,
        () => settled || parser.complete,
        () => finish({ outcome: 'client-reset' }),
      );
    });
  });
}

/** Write head and body, or stop early: `stop()` turned true, or `reset()` at `resetAfterBytes`. */
async function send(
  r: RawRequest,
  socket: net.Socket,
  stop: () => boolean,
  reset: () => void,
): Promise<void> {
  const length = r.declaredLength ?? r.body.length;
  const head = [
    `${r.method} ${r.path} HTTP/1.1`,
    `host: 127.0.0.1:${r.port}`,
    'connection: close',
    r.chunked ? 'transfer-encoding: chunked' : `content-length: ${length}`,
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  const write = async (data: Uint8Array | string): Promise<boolean> => {
    if (stop() || socket.destroyed) return false;
    if (!socket.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
    return !stop() && !socket.destroyed;
  };
  if (!(await write(head))) return;
  let sent = 0;
  while (sent < r.body.length) {
    if (r.resetAfterBytes !== undefined && sent >= r.resetAfterBytes) return reset();
    let n = Math.min(r.pieceBytes, r.body.length - sent);
    if (r.resetAfterBytes !== undefined) n = Math.min(n, r.resetAfterBytes - sent);
    const piece = r.body.subarray(sent, sent + n);
    const ok = r.chunked
      ? (await write(`${n.toString(16)}\r\n`)) && (await write(piece)) && (await write('\r\n'))
      : await write(piece);
    if (!ok) return;
    sent += n;
    if (r.intervalMs > 0) await sleep(r.intervalMs);
  }
  if (r.chunked) await write('0\r\n\r\n');
}
