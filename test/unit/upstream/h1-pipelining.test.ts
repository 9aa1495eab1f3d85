// A target's `http.pipelining` against an upstream below HTTP (test/helpers/raw-upstream.ts):
// answers matched to requests in order with several in flight on one connection; what a close,
// an abort, `Connection: close`, an HTTP/1.0 answer, an event stream and a head limit do to the
// requests written behind others; https.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { BackendTlsPolicy, PipeliningPolicy } from '../../../src/main/config/types.js';
import { HttpPools } from '../../../src/main/upstream/http-transport.js';
import type { IdleLimits } from '../../../src/main/upstream/idle-guard.js';
import type { CleanupHost } from '../../helpers/files.js';
import { makePki } from '../../helpers/pki.js';
import { type Outcome, postRequest, type RawUpstream, type ReceivedRequest, recorder, startRawUpstream } from '../../helpers/raw-upstream.js';

const OK = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

interface Sent {
  readonly done: Promise<Outcome>;
  readonly outcome: Outcome;
}

function pipelinedTarget(t: CleanupHost, up: RawUpstream, shape: PipeliningPolicy, o: { limits?: IdleLimits; tls?: BackendTlsPolicy } = {}) {
  const pools = new HttpPools('undici', o.limits);
  t.after(() => pools.close());
  const transport = pools.transport(up.url, o.tls ?? null, shape);
  return (tag: string): Sent => {
    const r = recorder();
    transport.send(postRequest(`{"id":"${tag}"}`, { 'x-case': tag }), r.handler);
    return { done: r.done, outcome: r.outcome };
  };
}

/** The upstream keeps requests until `n` are in (so they were in flight together), then
 * answers each with `answer` (its tag as the body unless said) in the order they came. */
function holdUntil(up: RawUpstream, n: number, answer: (socket: Socket, req: ReceivedRequest) => void = (s, r) => s.write(OK(r.tag ?? ''))): Promise<void> {
  const held: Array<[Socket, ReceivedRequest]> = [];
  return new Promise((resolve) => {
    up.script = (socket, req) => {
      held.push([socket, req]);
      if (held.length < n) return;
      for (const [s, r] of held.splice(0)) answer(s, r);
      echo(up);
      resolve();
    };
  });
}

/** Answers every request at once, its tag as the body. */
function echo(up: RawUpstream): void {
  up.script = (socket, req) => socket.write(OK(req.tag ?? ''));
}

/** Answers each request after `ms` (by default a 200 with its tag as the body), recording how
 * many were in flight at the upstream at once. */
function slowEcho(up: RawUpstream, ms: number, answer: (tag: string) => string = OK): { max: number } {
  const seen = { max: 0 };
  let inFlight = 0;
  up.script = (socket, req) => {
    inFlight++;
    seen.max = Math.max(seen.max, inFlight);
    setTimeout(() => {
      inFlight--;
      socket.write(answer(req.tag ?? ''));
    }, ms);
  };
  return seen;
}

function codeOf(o: Outcome): string | undefined {
  const code: unknown = o.error !== null && 'code' in o.error ? o.error.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The first answer on a connection shows HTTP/1.1 keep-alive; pipelining starts after it. */
async function warm(send: (tag: string) => Sent): Promise<void> {
  assert.equal((await send('warm').done).ended, 'complete');
}

/** An upstream that echoes each request's tag, and a pipelined target to it, warmed by one call. */
async function warmEchoTarget(t: CleanupHost, shape: PipeliningPolicy): Promise<{ readonly up: RawUpstream; readonly send: (tag: string) => Sent }> {
  const up = await startRawUpstream(t);
  echo(up);
  const send = pipelinedTarget(t, up, shape);
  await warm(send);
  return { up, send };
}

describe('pipelined upstream connections', () => {
  it('several requests in flight on one connection, each answer to its own request, in order', async (t) => {
    const { up, send } = await warmEchoTarget(t, { connections: 1, depth: 4 });
    const held = holdUntil(up, 4);
    const sent = ['a', 'b', 'c', 'd'].map(send);
    await held;
    const outcomes = await Promise.all(sent.map((s) => s.done));
    assert.deepEqual(outcomes.map((o) => o.body.toString()), ['a', 'b', 'c', 'd']);
    assert.deepEqual(outcomes.map((o) => o.late), [0, 0, 0, 0]);
    assert.equal(up.sockets.length, 1, 'all four on one connection');
  });

  it('calls spread over the connections, at most depth on each', async (t) => {
    const up = await startRawUpstream(t);
    echo(up);
    const send = pipelinedTarget(t, up, { connections: 2, depth: 3 });
    await Promise.all([send('w1').done, send('w2').done]);
    const held = holdUntil(up, 6);
    const sent = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(send);
    await held;
    const outcomes = await Promise.all(sent.map((s) => s.done));
    assert.deepEqual(outcomes.map((o) => o.body.toString()), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.equal(up.sockets.length, 2);
    const perConnection = [0, 1].map((c) => up.requests.filter((r) => r.connection === c && r.tag !== null && r.tag.length === 1).length);
    assert.deepEqual(perConnection.sort(), [3, 4], 'six in flight at once (three each), the seventh after an answer');
  });

  it('a connection closing with requests written on it fails them (never resent); requests not written yet go out on another', async (t) => {
    const { up, send } = await warmEchoTarget(t, { connections: 1, depth: 2 });
    let closedOnce = false;
    up.script = (socket, req) => {
      if (!closedOnce && req.tag === 'b') {
        closedOnce = true;
        socket.destroy();
      } else if (closedOnce) socket.write(OK(req.tag ?? ''));
    };
    const sent = ['a', 'b', 'c', 'd'].map(send);
    const outcomes = await Promise.all(sent.map((s) => s.done));
    assert.deepEqual(outcomes.map((o) => o.ended), ['error', 'error', 'complete', 'complete']);
    assert.deepEqual(outcomes.slice(0, 2).map(codeOf), ['GW_UPSTREAM_CLOSED', 'GW_UPSTREAM_CLOSED']);
    assert.deepEqual(outcomes.slice(2).map((o) => o.body.toString()), ['c', 'd']);
    assert.deepEqual(up.requests.map((r) => `${r.tag}@${r.connection}`), ['warm@0', 'a@0', 'b@0', 'c@1', 'd@1'], 'a and b sent once, c and d on a new connection');
  });

  it('an aborted request: its answer is read and dropped, the connection stays and the answers behind it stay matched', async (t) => {
    const { up, send } = await warmEchoTarget(t, { connections: 1, depth: 4 });
    const held = holdUntil(up, 3);
    const [a, b, c] = ['a', 'b', 'c'].map(send);
    await held.then(() => undefined);
    b?.outcome.abort?.(new Error('client left'));
    const outcomes = await Promise.all([a, b, c].map((s) => s?.done));
    assert.equal(outcomes[0]?.body.toString(), 'a');
    assert.equal(outcomes[1]?.error?.message, 'client left');
    assert.equal(outcomes[2]?.body.toString(), 'c');
    assert.deepEqual(outcomes.map((o) => o?.late), [0, 0, 0]);
    echo(up);
    assert.equal((await send('d').done).body.toString(), 'd', 'the next request after the dropped answer gets its own');
    assert.equal(up.sockets.length, 1, 'the connection was kept');
  });

  it('an answer with Connection: close: the requests written behind it fail, later ones go on a new connection', async (t) => {
    const { up, send } = await warmEchoTarget(t, { connections: 1, depth: 3 });
    const held = holdUntil(up, 2, (socket, req) => {
      if (req.tag === 'a') socket.end(OK('a', 'Connection: close\r\n'));
    });
    const [a, b] = ['a', 'b'].map(send);
    await held;
    const outcomes = await Promise.all([a, b].map((s) => s?.done));
    assert.equal(outcomes[0]?.body.toString(), 'a');
    assert.equal(outcomes[1] === undefined ? undefined : codeOf(outcomes[1]), 'GW_UPSTREAM_CLOSED');
    echo(up);
    assert.equal((await send('c').done).body.toString(), 'c');
    assert.equal(up.sockets.length, 2);
  });

  it('an HTTP/1.0 answer: one request at a time on that connection', async (t) => {
    const up = await startRawUpstream(t);
    const seen = slowEcho(up, 5, (tag) => `HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: ${tag.length}\r\n\r\n${tag}`);
    const send = pipelinedTarget(t, up, { connections: 1, depth: 4 });
    await warm(send);
    const outcomes = await Promise.all(['a', 'b', 'c'].map(send).map((s) => s.done));
    assert.deepEqual(outcomes.map((o) => o.body.toString()), ['a', 'b', 'c']);
    assert.equal(seen.max, 1, 'never more than one request in flight');
    assert.equal(up.sockets.length, 1, 'kept alive, not pipelined');
  });

  it('an event-stream answer: requests written behind it fail at once, and the target is no longer pipelined', async (t) => {
    const { up, send } = await warmEchoTarget(t, { connections: 1, depth: 3 });
    let streamSocket: Socket | null = null;
    const held = holdUntil(up, 2, (socket, req) => {
      if (req.tag !== 'a') return;
      streamSocket = socket;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write('f\r\nevent: message\n\r\n');
    });
    const [a, b] = ['a', 'b'].map(send);
    await held;
    const behind = await b?.done;
    assert.equal(behind === undefined ? undefined : codeOf(behind), 'GW_UPSTREAM_STREAMED_AHEAD');
    assert.equal(a?.outcome.ended, null, 'the stream is still open');
    // The stream ends, then b's answer comes (read and dropped).
    const s = streamSocket as Socket | null;
    s?.write(`0\r\n\r\n${OK('b')}`);
    assert.equal((await a?.done)?.body.toString(), 'event: message\n');
    const seen = slowEcho(up, 5);
    const later = await Promise.all(['c', 'd', 'e'].map(send).map((x) => x.done));
    assert.deepEqual(later.map((o) => o.body.toString()), ['c', 'd', 'e']);
    assert.equal(seen.max, 1, 'one request per connection at a time after the stream');
  });

  it('the head limit counts for each request from its write: one behind a slow answer fails alone, its answer dropped', async (t) => {
    const up = await startRawUpstream(t);
    echo(up);
    const send = pipelinedTarget(t, up, { connections: 1, depth: 3 }, { limits: { headMs: 300, bodyMs: 0 } });
    await warm(send);
    // a's head comes at once and its body trickles for 600 ms; b waits behind it past its limit.
    const held = holdUntil(up, 2, (socket, req) => {
      if (req.tag !== 'a') return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na');
      setTimeout(() => socket.write(`a${OK('b')}`), 600);
    });
    const started = performance.now();
    const [a, b] = ['a', 'b'].map(send);
    await held;
    const failed = await b?.done;
    assert.equal(failed === undefined ? undefined : codeOf(failed), 'GW_UPSTREAM_HEADERS_TIMEOUT');
    assert.ok(performance.now() - started < 600, 'b failed at its own limit, before a ended');
    assert.equal((await a?.done)?.body.toString(), 'aa');
    assert.equal((await send('c').done).body.toString(), 'c', "b's answer was dropped, c gets its own");
    assert.equal(up.sockets.length, 1);
  });

  it('https: pipelined through backendTLS', async (t) => {
    const pki = await makePki(t);
    const server = await pki.issue('upstream', 'server', ['127.0.0.1']);
    const up = await startRawUpstream(t, { cert: server.certPem, key: server.keyPem });
    echo(up);
    const tls: BackendTlsPolicy = { root: { secret: pki.caPem, file: null }, cert: null, key: null, hostname: null, insecure: false, insecureHost: false };
    const send = pipelinedTarget(t, up, { connections: 1, depth: 3 }, { tls });
    await warm(send);
    const held = holdUntil(up, 3);
    const sent = ['a', 'b', 'c'].map(send);
    await held;
    const outcomes = await Promise.all(sent.map((s) => s.done));
    assert.deepEqual(outcomes.map((o) => o.body.toString()), ['a', 'b', 'c']);
    assert.equal(up.sockets.length, 1);
  });
});
