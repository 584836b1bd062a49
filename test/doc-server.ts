// The Quick start probe: a ```js server block is started on a free port and must survive what a
// real upload service meets: a body stored (2xx), a client that resets its connection mid-body,
// and a write into a directory that is not there. After each, a further request must still be
// answered and the process still alive.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** A port nobody listens on right now (the kernel's pick for port 0, released again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * The directory the handler writes into, read from the block: the first literal given to
 * `join(` / `resolve(` / `mkdir(` or assigned to a `…dir` constant, else the first segment of a
 * relative path literal (`'uploads/…'`, `` `uploads/${id}` ``; not a MIME type such as
 * `'text/plain'`). `null` when the block names none.
 */
export function handlerDir(code: string): string | null {
  const quote = `['"${'`'}]`;
  const name = `${quote}(?:\\./)?([A-Za-z0-9_][A-Za-z0-9_.-]*)`;
  const patterns = [
    new RegExp(`\\b(?:join|resolve)\\(\\s*${name}${quote}`),
    new RegExp(`\\bmkdir(?:Sync)?\\(\\s*${name}${quote}`),
    new RegExp(`\\b\\w*(?:dir|Dir|DIR)\\w*\\s*=\\s*(?:[^'"${'`'};\\n]*\\?\\?\\s*)?${name}${quote}`),
  ];
  for (const p of patterns) {
    const m = p.exec(code);
    if (m?.[1] !== undefined) return m[1];
  }
  const mime = /^(text|application|image|audio|video|multipart|font|model|message)$/;
  for (const m of code.matchAll(new RegExp(`${name}/[^'"${'`'}\\s]*${quote}`, 'g'))) {
    if (m[1] !== undefined && !mime.test(m[1]) && !m[1].startsWith('node:')) return m[1];
  }
  return null;
}

/** The request path the handler answers: a `req.url` / `pathname` comparison, else `/`. */
export function handlerPath(code: string): string {
  const m = /(?:req\.url|pathname)\s*(?:===|==|!==|!=)\s*['"`](\/[^'"`]*)['"`]/.exec(code);
  return m?.[1] ?? '/';
}

interface Reply {
  status: number | null;
  error: string | null;
}

/** POST `body` to the server; the status, or the error when no response came. */
function post(port: number, path: string, body: Buffer): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
        res.on('error', (err) => resolve({ status: res.statusCode ?? null, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ status: null, error: err.message }));
    req.end(body);
  });
}

/** Headers declaring 1 MiB, 64 KiB of it, then a TCP reset: a client gone mid-body. */
async function resetMidBody(port: number, path: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1 << 20}\r\n\r\n`,
  );
  socket.write(Buffer.alloc(64 << 10, 7));
  await sleep(200);
  socket.resetAndDestroy();
  await sleep(300);
}

/** Whether some file under `dir` holds exactly `bytes`. */
function stored(dir: string, bytes: Buffer): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return false;
  }
  return entries.some((e) => {
    try {
      return readFileSync(join(dir, e)).equals(bytes);
    } catch {
      return false; // a directory, or a temp file renamed meanwhile
    }
  });
}

function waitForListening(child: ChildProcess, out: { text: string }): Promise<number | string> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve(`no "listening on <port>" within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    const check = (): void => {
      const m = /listening on (\d+)/.exec(out.text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`exited with ${code ?? signal} before listening`);
    });
  });
}

/**
 * Start `script` from `cwd` with `PORT` set to a free port and run the three scenarios.
 * Resolves with the failures, each with the server's output where it helps; empty when the
 * server passed. The server is always stopped before this resolves.
 */
export async function probeServer(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  code: string,
): Promise<string[]> {
  const dir = handlerDir(code);
  if (dir === null) {
    return ['the server block names no relative directory its handler writes into'];
  }
  const path = handlerPath(code);
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '' };
  child.stdout.on('data', (d: Buffer) => {
    out.text += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out.text += d.toString();
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const failures: string[] = [];
  const fail = (what: string): void => {
    failures.push(what);
  };
  try {
    const listening = await waitForListening(child, out);
    if (typeof listening === 'string') {
      fail(listening);
      return failures;
    }
    const at = listening === 0 ? port : listening;
    const uploads = join(cwd, dir);
    // After each scenario: still alive, and a further request is answered (2xx where the
    // directory exists).
    const further = async (after: string, want2xx: boolean): Promise<void> => {
      if (!alive()) return fail(`the server died after ${after}`);
      const r = await post(at, path, Buffer.from('after'));
      if (r.error !== null)
        return fail(`after ${after}, a further request got no response: ${r.error}`);
      if (want2xx && (r.status ?? 0) >= 300)
        fail(`after ${after}, a further request got ${r.status}`);
      if (!alive()) fail(`the server died after the request following ${after}`);
    };

    mkdirSync(uploads, { recursive: true });
    const body = Buffer.alloc(64 << 10);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const first = await post(at, path, body);
    if (first.error !== null || (first.status ?? 0) < 200 || (first.status ?? 0) >= 300) {
      fail(`POST ${path} with a 64 KiB body: expected 2xx, got ${first.status ?? first.error}`);
    } else if (!stored(uploads, body)) {
      fail(`POST ${path} answered ${first.status} but no file under ${dir}/ holds the body`);
    }
    await further('a stored body', true);

    await resetMidBody(at, path);
    await further('a connection reset mid-body', true);

    rmSync(uploads, { recursive: true, force: true });
    const missing = await post(at, path, Buffer.from('into a missing directory'));
    if (missing.error !== null) fail(`POST with ${dir}/ missing got no response: ${missing.error}`);
    await further(`a write into a missing ${dir}/`, false);
    return failures;
  } finally {
    if (failures.length > 0) {
      failures.push(`server output:\n  ${out.text.trimEnd().split('\n').slice(-20).join('\n  ')}`);
    }
    if (alive()) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
}
