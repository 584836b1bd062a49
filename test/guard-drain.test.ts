import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { drainAndExit, ReadinessGate, trackConnections } from '../src/memory/index.js';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(port: number, path: string, agent?: http.Agent, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, path, agent: agent ?? false, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server whose `/slow` requests wait until the test releases them. */
async function slowServer(gate?: ReadinessGate) {
  const pending: Array<() => void> = [];
  const arrived: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/ready' && gate) return gate.handler(req, res);
    if (req.url === '/slow') {
      pending.push(() => res.end('slow done'));
      for (const f of arrived.splice(0)) f();
      return;
    }
    res.end('fast');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const nextArrival = () => new Promise<void>((r) => arrived.push(r));
  return { server, port, pending, nextArrival };
}

describe('ReadinessGate', () => {
  it('answers 200 while ready, 503 with the reason after fail() or a failing check, HEAD without body', async (t) => {
    const check = {
      ok: true,
      ready() {
        return this.ok;
      },
    };
    const gate = new ReadinessGate({ checks: [check] });
    const { server, port } = await slowServer(gate);
    t.after(() => server.close());

    let r = await get(port, '/ready');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ready\n');
    assert.equal(r.headers['cache-control'], 'no-store');

    check.ok = false;
    r = await get(port, '/ready');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'not ready: check 0 not ready\n');

    check.ok = true;
    gate.fail('memory');
    gate.fail('second reason is ignored');
    assert.equal(gate.ready(), false);
    r = await get(port, '/ready', undefined, 'HEAD');
    assert.equal(r.status, 503);
    assert.equal(r.body, '');
    assert.equal(gate.reason, 'memory');
  });
});

/** Rejects if `p` has not settled after `ms`: turns a hang into a failure. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const stop = new AbortController();
  const timeout = sleep(ms, undefined, { signal: stop.signal }).then(
    () => Promise.reject(new Error(`${what} did not settle within ${ms} ms`)),
    () => undefined as never,
  );
  try {
    return await Promise.race([p, timeout]);
  } finally {
    stop.abort();
  }
}

/** A server that accepts every upgrade and keeps the socket open; `track` calls trackConnections first. */
async function upgradingServer(track: boolean) {
  const server = http.createServer((_req, res) => res.end('fast'));
  if (track) trackConnections(server);
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
  await once(client, 'data'); // the 101: the socket now belongs to the upgrade listener
  const clientClosed = once(client, 'close');
  return { server, client, clientClosed };
}

describe('drainAndExit', () => {
  it('fails readiness, refuses new connections, finishes in-flight requests, then exits with the code', async () => {
    const gate = new ReadinessGate();
    const { server, port, pending, nextArrival } = await slowServer(gate);
    const agent = new http.Agent({ keepAlive: true });
    try {
      // An idle keep-alive connection must not hold the drain up.
      assert.equal((await get(port, '/fast', agent)).body, 'fast');
      const arrived = nextArrival();
      const inFlight = get(port, '/slow');
      await arrived;

      const exits: number[] = [];
      const drained = drainAndExit(server, {
        readiness: gate,
        exitCode: 75,
        deadlineMs: 60_000,
        exit: (code) => exits.push(code),
      });
      assert.equal(gate.ready(), false);
      // The listener is closed: a new connection is refused.
      await assert.rejects(get(port, '/fast'), { code: 'ECONNREFUSED' });
      assert.deepEqual(exits, [], 'no exit while a request is in flight');

      for (const f of pending.splice(0)) f();
      const reply = await inFlight;
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'slow done');
      const result = await drained;
      assert.equal(result.completed, true);
      assert.equal(result.exitCode, 75);
      assert.ok(result.connectionsAtClose >= 1);
      assert.deepEqual(exits, [75]);
      assert.equal(server.listening, false);
    } finally {
      agent.destroy();
      server.closeAllConnections();
    }
  });

  it('cuts connections that outlive the deadline and reports completed: false', async () => {
    const { server, port, nextArrival } = await slowServer();
    const arrived = nextArrival();
    const stuck = get(port, '/slow');
    await arrived;
    const result = await drainAndExit(server, { deadlineMs: 50, exit: false });
    assert.equal(result.completed, false);
    assert.equal(result.exitCode, 0);
    await assert.rejects(stuck, { code: 'ECONNRESET' });
    assert.equal(server.listening, false);
  });

  it('stops waiting when the signal aborts', async () => {
    const { server, port, nextArrival } = await slowServer();
    const arrived = nextArrival();
    const stuck = get(port, '/slow').catch((e: unknown) => e);
    await arrived;
    const ac = new AbortController();
    const drained = drainAndExit(server, { deadlineMs: 600_000, exit: false, signal: ac.signal });
    ac.abort();
    const result = await drained;
    assert.equal(result.completed, false);
    assert.ok((await stuck) instanceof Error);
  });

  it('cuts an upgraded (WebSocket-style) socket at the deadline when the server is tracked', async (t) => {
    const { server, client, clientClosed } = await upgradingServer(true);
    t.after(() => client.destroy());
    const exits: number[] = [];
    const result = await within(
      drainAndExit(server, { deadlineMs: 50, exit: (code) => exits.push(code) }),
      10_000,
      'drainAndExit',
    );
    assert.equal(result.completed, false);
    assert.equal(result.connectionsAtClose, 1);
    assert.deepEqual(exits, [0]);
    await within(clientClosed, 10_000, 'the upgraded client socket');
    assert.equal(await new Promise((r) => server.getConnections((_e, n) => r(n))), 0);
  });

  it('finishes and exits even with an upgraded socket it never saw', async (t) => {
    const { server, client } = await upgradingServer(false);
    t.after(() => {
      client.destroy();
      server.closeAllConnections();
    });
    const exits: number[] = [];
    const result = await within(
      drainAndExit(server, { deadlineMs: 50, exit: (code) => exits.push(code) }),
      10_000,
      'drainAndExit',
    );
    assert.equal(result.completed, false);
    assert.deepEqual(exits, [0]);
    assert.equal(server.listening, false);
  });

  it('validates its options', async () => {
    const server = http.createServer();
    await assert.rejects(
      drainAndExit(server, { deadlineMs: -1, exit: false }),
      /options\.deadlineMs .* got -1/,
    );
    await assert.rejects(
      drainAndExit(server, { graceMs: Number.NaN, exit: false }),
      /options\.graceMs .* got NaN/,
    );
    await assert.rejects(
      drainAndExit(server, { exitCode: 1.5, exit: false }),
      /options\.exitCode .* got 1\.5/,
    );
    // A server that never listened drains at once.
    assert.deepEqual(await drainAndExit(server, { exit: false }), {
      connectionsAtClose: 0,
      completed: true,
      exitCode: 0,
    });
  });
});
