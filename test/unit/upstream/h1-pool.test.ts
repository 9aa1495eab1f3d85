// The HTTP/1.1 client's connections, beside undici's where both are expected to behave alike:
// keep-alive reuse and when a connection is not reused (Connection: close, HTTP/1.0, a short
// Keep-Alive timeout, an error, bytes nobody asked for), the upstream closing an idle connection
// as a request is about to go out on it, an answer smuggled behind another, backpressure, abort,
// refused connections, https; then this client's own limits and timeouts, and close().
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { tlsConnectOptions } from '../../../src/main/http/tls-client.js';
import { H1_DEFAULTS, H1Pool, type H1PoolOptions } from '../../../src/main/upstream/h1/pool.js';
import { HttpPools } from '../../../src/main/upstream/http-transport.js';
import type { RequestParts } from '../../../src/main/upstream/h1/request-head.js';
import type { AnswerHandler } from '../../../src/main/upstream/answer.js';
import type { BackendTlsPolicy } from '../../../src/main/config/types.js';
import type { CleanupHost } from '../../helpers/files.js';
import { makePki } from '../../helpers/pki.js';
import { listenLocal } from '../../helpers/ports.js';
import {
  answerWithBytes,
  assertAgree,
  CLIENTS,
  exchange,
  type Outcome,
  poolsOf,
  postRequest,
  type RawUpstream,
  recorder,
  startRawUpstream,
} from '../../helpers/raw-upstream.js';

const OK = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

/** Two requests one after the other through each client; the connections each client used. */
async function twice(t: CleanupHost, script: (up: RawUpstream) => void, between?: (up: RawUpstream) => Promise<void>): Promise<Array<{ outcomes: Outcome[]; connections: number }>> {
  const results = [];
  for (const client of CLIENTS) {
    const up = await startRawUpstream(t);
    script(up);
    const pools = poolsOf(t, client);
    const first = await exchange(pools, up.url, postRequest());
    // The next request comes from a later event, as in the gateway (undici reuses a connection
    // only from the next turn of the event loop).
    await new Promise((resolve) => setImmediate(resolve));
    await between?.(up);
    const second = await exchange(pools, up.url, postRequest());
    results.push({ outcomes: [first, second], connections: up.sockets.length });
  }
  return results;
}

function h1(t: CleanupHost, url: string, options: Partial<H1PoolOptions> = {}): H1Pool {
  const pool = new H1Pool(new URL(url), null, { ...H1_DEFAULTS, connections: 256, ...options });
  t.after(() => pool.close());
  return pool;
}

const POST: RequestParts = { method: 'POST', path: '/mcp', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };

function send(pool: H1Pool, options: Parameters<typeof recorder>[0] = {}): ReturnType<typeof recorder> {
  const r = recorder(options);
  pool.dispatch(POST, r.handler);
  return r;
}

describe('HTTP/1.1 client connections, beside undici', () => {
  const reuse: Array<[string, string, number]> = [
    ['a keep-alive answer: one connection for both', OK('hi'), 1],
    ['Connection: close: a new connection for the second', OK('hi', 'Connection: close\r\n'), 2],
    ['HTTP/1.0 without keep-alive: a new connection', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi', 2],
    ['HTTP/1.0 with Connection: keep-alive: reused', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi', 1],
    ['Keep-Alive: timeout=1 (shorter than the margin): not reused', OK('hi', 'Keep-Alive: timeout=1\r\n'), 2],
    ['Keep-Alive: timeout=5: reused', OK('hi', 'Keep-Alive: timeout=5\r\n'), 1],
  ];
  for (const [name, answer, connections] of reuse) {
    it(name, async (t) => {
      const [undici, ours] = await twice(t, (up) => {
        up.script = answerWithBytes(answer);
      });
      for (const r of [undici, ours]) {
        assert.deepEqual(r?.outcomes.map((o) => o.ended), ['complete', 'complete']);
        assert.equal(r?.connections, connections);
      }
    });
  }

  it('an answer cut short: the connection is not reused', async (t) => {
    const [undici, ours] = await twice(t, (up) => {
      up.script = (socket, _req, i) => (i === 0 ? socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi') : socket.write(OK('ok')));
    });
    for (const r of [undici, ours]) {
      assert.deepEqual(r?.outcomes.map((o) => o.ended), ['error', 'complete']);
      assert.equal(r?.connections, 2);
    }
  });

  it('the upstream closes the connection right after its answer: the next request goes out on a new one', async (t) => {
    const [undici, ours] = await twice(t, (up) => {
      up.script = (socket) => socket.end(OK('hi'));
    });
    for (const r of [undici, ours]) {
      assert.deepEqual(r?.outcomes.map((o) => o.ended), ['complete', 'complete']);
      assert.equal(r?.connections, 2);
    }
  });

  it('the upstream closes an idle connection: the next request goes out on a new one', async (t) => {
    const [undici, ours] = await twice(
      t,
      (up) => {
        up.script = answerWithBytes(OK('hi'));
      },
      async (up) => {
        up.sockets[0]?.end();
        await up.closedConnections(1);
      },
    );
    for (const r of [undici, ours]) {
      assert.deepEqual(r?.outcomes.map((o) => o.ended), ['complete', 'complete']);
      assert.equal(r?.connections, 2);
    }
  });

  it('an answer smuggled behind another in the same write never reaches the next request', async (t) => {
    const [undici, ours] = await twice(t, (up) => {
      up.script = (socket, _req, i) => socket.write(i === 0 ? `${OK('hi')}${OK('evil')}` : OK('good'));
    });
    for (const r of [undici, ours]) {
      assert.deepEqual(r?.outcomes.map((o) => o.body.toString()), ['hi', 'good']);
      assert.equal(r?.connections, 2);
    }
  });

  it('bytes on an idle connection: it is closed, and the next request gets its own answer', async (t) => {
    const [undici, ours] = await twice(
      t,
      (up) => {
        up.script = answerWithBytes(OK('hi'));
      },
      async (up) => {
        up.sockets[0]?.write(OK('evil'));
        await up.closedConnections(1);
      },
    );
    for (const r of [undici, ours]) {
      assert.deepEqual(r?.outcomes.map((o) => o.body.toString()), ['hi', 'hi']);
      assert.equal(r?.connections, 2);
    }
  });

  it('backpressure: a paused body is not read until resumed, then arrives whole', async (t) => {
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    for (const client of CLIENTS) {
      const up = await startRawUpstream(t);
      let blocked: Promise<void> | null = null;
      up.script = (socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        // Once the client stops reading, the kernel's buffers fill and the write backs up.
        blocked = socket.write(body) ? null : once(socket, 'drain').then(() => {});
      };
      let chunks = 0;
      const r = recorder({ pauses: 1, onEvent: (name) => void (name === 'data' && chunks++) });
      poolsOf(t, client).transport(up.url, null).send(postRequest(), r.handler);
      while (chunks === 0) await new Promise((resolve) => setImmediate(resolve));
      assert.notEqual(blocked, null, `${client}: the upstream's write backed up`);
      assert.equal(chunks, 1, `${client}: nothing more while paused`);
      r.resume();
      const outcome = await r.done;
      assert.equal(outcome.ended, 'complete');
      assert.equal(outcome.body.length, body.length, client);
    }
  });

  it('abort: the handler hears the error once, the upstream sees its connection closed', async (t) => {
    for (const client of CLIENTS) {
      const up = await startRawUpstream(t);
      up.script = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi');
      const r = recorder({ onEvent: (name, o) => name === 'data' && o.abort?.(new Error('stop')) });
      poolsOf(t, client).transport(up.url, null).send(postRequest(), r.handler);
      const outcome = await r.done;
      assert.equal(outcome.ended, 'error');
      assert.equal(outcome.error?.message, 'stop');
      await up.closedConnections(1);
      assert.equal(outcome.late, 0);
    }
  });

  it('a refused connection fails every request waiting for it, with the system error', async (t) => {
    const closed = createServer();
    const port = await listenLocal(closed);
    closed.close();
    await once(closed, 'close');
    for (const client of CLIENTS) {
      const pools = poolsOf(t, client);
      const outcomes = await Promise.all([1, 2, 3].map(() => exchange(pools, `http://127.0.0.1:${port}/mcp`, postRequest())));
      for (const o of outcomes) {
        assert.equal(o.ended, 'error');
        assert.equal((o.error as NodeJS.ErrnoException | null)?.code, 'ECONNREFUSED', client);
      }
    }
  });

  it('https: the same answers through backendTLS, refused without the CA', async (t) => {
    const pki = await makePki(t);
    const server = await pki.issue('upstream', 'server', ['127.0.0.1', 'upstream.test']);
    const up = await startRawUpstream(t, { cert: server.certPem, key: server.keyPem });
    up.script = answerWithBytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    const policy = (over: Partial<BackendTlsPolicy>): BackendTlsPolicy => ({ root: { secret: pki.caPem, file: null }, cert: null, key: null, hostname: null, insecure: false, insecureHost: false, ...over });
    const trusted = await Promise.all(CLIENTS.map((c) => exchange(poolsOf(t, c), up.url, postRequest(), {}, policy({}))));
    assertAgree('https', trusted[0] as Outcome, trusted[1] as Outcome);
    assert.equal(trusted[1]?.body.toString(), 'hi');
    const named = await Promise.all(CLIENTS.map((c) => exchange(poolsOf(t, c), up.url, postRequest(), {}, policy({ hostname: 'upstream.test' }))));
    for (const o of named) assert.equal(o.ended, 'complete', 'SNI and verification by the configured name');
    const untrusted = await Promise.all(CLIENTS.map((c) => exchange(poolsOf(t, c), up.url, postRequest(), {}, policy({ root: null }))));
    for (const o of untrusted) assert.match(o.error?.message ?? '', /certificate/i);
    const wrongName = await Promise.all(CLIENTS.map((c) => exchange(poolsOf(t, c), up.url, postRequest(), {}, policy({ hostname: 'other.test' }))));
    for (const o of wrongName) assert.match(o.error?.message ?? '', /other\.test|altnames|certificate/i);
    // The upstream got the trusted and the named requests only.
    assert.equal(up.requests.length, 4);
  });

  it('https through the pool directly: tlsConnectOptions as the gateway passes them', async (t) => {
    const pki = await makePki(t);
    const server = await pki.issue('upstream', 'server', ['127.0.0.1']);
    const up = await startRawUpstream(t, { cert: server.certPem, key: server.keyPem });
    up.script = answerWithBytes(OK('hi'));
    const tls = tlsConnectOptions({ root: { secret: pki.caPem, file: null }, cert: null, key: null, hostname: null, insecure: false, insecureHost: false });
    const pool = new H1Pool(new URL(up.url), tls, { ...H1_DEFAULTS, connections: 4 });
    t.after(() => pool.close());
    for (let i = 0; i < 3; i++) assert.equal((await send(pool).done).ended, 'complete');
    assert.equal(up.sockets.length, 1, 'kept alive');
  });

  it('a Keep-Alive timeout longer than the pools keep idle connections does not keep one open longer, in either client', { timeout: 10_000 }, async (t) => {
    for (const client of CLIENTS) {
      const up = await startRawUpstream(t);
      up.script = answerWithBytes(OK('hi', 'Keep-Alive: timeout=60\r\n'));
      const pools = new HttpPools(client, { keepAliveMs: 100 });
      t.after(() => pools.close());
      const started = performance.now();
      assert.equal((await exchange(pools, up.url, postRequest())).ended, 'complete', client);
      await up.closedConnections(1);
      const idleMs = performance.now() - started;
      assert.ok(idleMs < 3_000, `${client}: closed after ${idleMs.toFixed(0)} ms`);
    }
  });
});

describe('HTTP/1.1 client: limits, timeouts, close', () => {
  it('at most `connections` connections; requests beyond them wait their turn', async (t) => {
    const up = await startRawUpstream(t);
    up.script = answerWithBytes(OK('hi'));
    const pool = h1(t, up.url, { connections: 2 });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => send(pool).done));
    assert.deepEqual(outcomes.map((o) => o.ended), Array(5).fill('complete'));
    assert.equal(up.sockets.length, 2);
  });

  it('no answer within headersMs: GW_UPSTREAM_HEADERS_TIMEOUT, the connection closed', async (t) => {
    const up = await startRawUpstream(t);
    up.script = () => {};
    const outcome = await send(h1(t, up.url, { headersMs: 100 })).done;
    assert.equal((outcome.error as { code?: string } | null)?.code, 'GW_UPSTREAM_HEADERS_TIMEOUT');
    await up.closedConnections(1);
  });

  it('a body quiet for bodyMs: GW_UPSTREAM_BODY_TIMEOUT', async (t) => {
    const up = await startRawUpstream(t);
    up.script = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi');
    const outcome = await send(h1(t, up.url, { bodyMs: 100 })).done;
    assert.equal((outcome.error as { code?: string } | null)?.code, 'GW_UPSTREAM_BODY_TIMEOUT');
    assert.equal(outcome.body.toString(), 'hi');
  });

  it('a TLS handshake that never ends: GW_UPSTREAM_CONNECT_TIMEOUT', async (t) => {
    // Accepts, reads, never answers.
    const silent = createServer((socket) => socket.resume());
    const port = await listenLocal(silent);
    t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const pool = new H1Pool(new URL(`https://127.0.0.1:${port}/mcp`), {}, { ...H1_DEFAULTS, connections: 4, connectMs: 100 });
    t.after(() => pool.close());
    const outcome = await send(pool).done;
    assert.equal((outcome.error as { code?: string } | null)?.code, 'GW_UPSTREAM_CONNECT_TIMEOUT');
  });

  it('an idle connection past the server Keep-Alive timeout (less the margin) is closed', async (t) => {
    const up = await startRawUpstream(t);
    up.script = answerWithBytes(OK('hi', 'Keep-Alive: timeout=2\r\n'));
    const pool = h1(t, up.url, { keepAliveMs: 60_000, headersMs: 200 });
    assert.equal((await send(pool).done).ended, 'complete');
    // timeout=2 s less the 2 s margin leaves nothing: closed at once, not kept.
    await up.closedConnections(1);
  });

  it('close(): requests in flight and waiting fail, every socket is closed, later requests are refused', async (t) => {
    const up = await startRawUpstream(t);
    up.script = () => {};
    const pool = new H1Pool(new URL(up.url), null, { ...H1_DEFAULTS, connections: 1 });
    const first = send(pool);
    const second = send(pool);
    while (up.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await pool.close();
    for (const r of [first, second]) assert.equal((r.outcome.error as { code?: string } | null)?.code, 'GW_UPSTREAM_CLIENT_CLOSED');
    await up.closedConnections(1);
    const late = await send(pool).done;
    assert.equal((late.error as { code?: string } | null)?.code, 'GW_UPSTREAM_CLIENT_CLOSED');
    assert.equal(first.outcome.late + second.outcome.late, 0);
  });

  it('an aborted request that was not written yet leaves its connection in use for others', async (t) => {
    const up = await startRawUpstream(t);
    up.script = answerWithBytes(OK('hi'));
    const pool = h1(t, up.url);
    assert.equal((await send(pool).done).ended, 'complete');
    const r = send(pool);
    r.outcome.abort?.(new Error('changed my mind'));
    assert.equal((await r.done).error?.message, 'changed my mind');
    assert.equal((await send(pool).done).ended, 'complete');
    assert.equal(up.sockets.length, 1);
    assert.equal(up.requests.length, 2);
  });

  it('each read is a Buffer of its own: chunks kept uncopied stay intact while other connections read', async (t) => {
    const up = await startRawUpstream(t);
    const size = 3000;
    const letters = ['a', 'b', 'c'];
    // Every answer's head and first half go out once all three requests are in (each on its own
    // connection, named by its x-case); the second halves once the client has read every first half.
    const sockets = new Map<string, Socket>();
    const writeAll = (text: (letter: string) => string): void => {
      for (const [letter, socket] of sockets) socket.write(text(letter));
    };
    up.script = (socket, req) => {
      sockets.set(req.tag ?? '', socket);
      if (sockets.size === letters.length) writeAll((l) => `HTTP/1.1 200 OK\r\nContent-Length: ${2 * size}\r\n\r\n${l.repeat(size)}`);
    };
    const pool = h1(t, up.url);
    let firstHalves = 0;
    const bodies = letters.map((letter) => {
      const kept: Buffer[] = [];
      let length = 0;
      let resolve: (kept: Buffer[]) => void = () => {};
      let reject: (err: Error) => void = () => {};
      const promise = new Promise<Buffer[]>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      const handler: AnswerHandler = {
        onConnect: () => {},
        onHeaders: () => true,
        onData: (chunk) => {
          kept.push(chunk);
          length += chunk.length;
          if (length === size && ++firstHalves === letters.length) writeAll((l) => l.repeat(size));
          return true;
        },
        onComplete: () => resolve(kept),
        onError: reject,
      };
      pool.dispatch({ ...POST, headers: { ...POST.headers, 'x-case': letter } }, handler);
      return promise;
    });
    const answers = await Promise.all(bodies);
    assert.equal(up.sockets.length, letters.length);
    for (const [i, kept] of answers.entries()) assert.equal(Buffer.concat(kept).toString('latin1'), (letters[i] ?? '').repeat(2 * size), `answer ${i}`);
  });
});
