// The calls pool's idle limits (undici's headersTimeout and bodyTimeout, kept by the idle guard
// without a timer per request), shortened through GatewayOptions: an upstream that never sends
// a head gets the client a 502 naming the target, one that stalls mid-body has the client's
// answer broken off, one that trickles within the limit is never cut, a client that leaves
// during the wait cancels the upstream request, and many calls at once are each judged alone.
// And the pools' keep-alive limit: the gateway closes an idle upstream connection itself, before
// an upstream that closes idle connections does (whether or not it sends a Keep-Alive hint), and
// the next call opens another.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { resultFor, sendJson, startStub, type StubOptions, type StubRequest, type StubUpstream } from '../helpers/stub-upstream.js';

const limits = { headMs: 300, bodyMs: 300 };
/** the guard cuts between its limit and the limit plus two sweeps (75 ms each here) */
const lateMs = 1_500;
const testTimeout = { timeout: 20_000 };

async function gatewayTo(t: CleanupHost, script: (req: StubRequest, res: ServerResponse) => unknown, upstream: StubOptions = {}, keepAliveMs?: number): Promise<TestGateway & { readonly up: StubUpstream }> {
  const up = await startStub(t, script, upstream);
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'u', mcp: { host: up.url } }] } }] }] }] }] });
  return { ...(await startTestGateway(t, { configText, upstreamIdleLimits: keepAliveMs === undefined ? limits : { ...limits, keepAliveMs } })), up };
}

/** A JSON answer of `size` bytes whose body leaves in `parts` pieces, `everyMs` apart (the
 * first with the head), ending with `end` (false: it stalls after the first part). */
function trickle(req: StubRequest, res: ServerResponse, opts: { readonly everyMs: number; readonly parts: number; readonly end: boolean }): void {
  const body = Buffer.from(JSON.stringify(resultFor(req, { text: 'x'.repeat(4000) })));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.byteLength });
  const size = Math.ceil(body.byteLength / opts.parts);
  let at = 0;
  const next = (): void => {
    res.write(body.subarray(at, at + size));
    at += size;
    if (at >= body.byteLength) res.end();
    else if (opts.end) timer = setTimeout(next, opts.everyMs);
  };
  let timer = setTimeout(next, 0);
  res.on('close', () => clearTimeout(timer));
}

describe('upstream idle limits', () => {
  it('an upstream that never sends a head: 502 naming the target, logged as a headers timeout', testTimeout, async (t) => {
    const gw = await gatewayTo(t, () => {});
    const started = performance.now();
    const reply = await mcpFetch(gw.url, rpc(7, 'tools/call', { name: 'slow', arguments: {} }));
    const took = performance.now() - started;
    assert.equal(reply.status, 502);
    assert.deepEqual(JSON.parse(reply.text), { jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'upstream u unavailable', data: { code: 'GW_UPSTREAM_UNAVAILABLE' } } });
    assert.ok(took >= limits.headMs && took < limits.headMs + lateMs, `answered after ${took.toFixed(0)} ms`);
    // undici says "Headers Timeout Error", the gateway's own client "upstream headers timeout"
    assert.match(await gw.log.waitFor(/http\.status=502/), /error="upstream call failed: [^"]*headers timeout/i);
  });

  it('an upstream that stalls mid-body: the answer is broken off, logged as a body timeout', testTimeout, async (t) => {
    const gw = await gatewayTo(t, (req, res) => trickle(req, res, { everyMs: 0, parts: 2, end: false }));
    const started = performance.now();
    await assert.rejects(mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'stall', arguments: {} })), TypeError);
    const took = performance.now() - started;
    assert.ok(took >= limits.bodyMs && took < limits.bodyMs + lateMs, `broken off after ${took.toFixed(0)} ms`);
  });

  it('a head and a body that trickle within the limits are never cut, however long the answer takes', testTimeout, async (t) => {
    const gw = await gatewayTo(t, (req, res) => {
      const timer = setTimeout(() => trickle(req, res, { everyMs: 150, parts: 8, end: true }), 200);
      res.on('close', () => clearTimeout(timer));
    });
    const started = performance.now();
    const reply = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'trickle', arguments: {} }));
    assert.equal(reply.status, 200);
    assert.equal(reply.messages[0]?.['id'], 3);
    assert.ok(performance.now() - started > 2 * limits.bodyMs);
  });

  it('a client that leaves during the wait cancels the upstream request; the gateway serves on', testTimeout, async (t) => {
    let closed = (): void => {};
    const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
    let n = 0;
    const gw = await gatewayTo(t, (req, res) => {
      if (++n === 1) res.on('close', closed);
      else sendJson(res, resultFor(req, {}));
    });
    const leaving = new AbortController();
    const pending = fetch(gw.url, { method: 'POST', headers: { accept: MCP_ACCEPT, 'content-type': 'application/json' }, body: JSON.stringify(rpc(1, 'tools/call', { name: 'x', arguments: {} })), signal: leaving.signal });
    await gw.up.arrived(1);
    leaving.abort();
    await assert.rejects(pending);
    await upstreamClosed;
    const reply = await mcpFetch(gw.url, rpc(2, 'ping'));
    assert.equal(reply.status, 200);
  });

  it('many calls at once: the silent ones fail alone, the answered ones are answered', testTimeout, async (t) => {
    const gw = await gatewayTo(t, (req, res) => {
      const id = req.id;
      if (typeof id === 'number' && id % 2 === 0) sendJson(res, resultFor(req, { id }));
    });
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => mcpFetch(gw.url, rpc(i, 'tools/call', { name: 'x', arguments: {} }))));
    for (const [i, reply] of replies.entries()) assert.equal(reply.status, i % 2 === 0 ? 200 : 502, `call ${i}`);
  });
});

describe('upstream keep-alive', () => {
  const keepAliveMs = 200;

  /** Who ends the connection: the gateway (its FIN reaches the upstream: 'end') or the upstream
   * (node:http destroys it on its idle timeout: 'close' without 'end'). */
  const closer = (socket: Socket): Promise<'gateway' | 'upstream'> =>
    new Promise((resolve) => {
      socket.once('end', () => resolve('gateway'));
      socket.once('close', () => resolve('upstream'));
    });

  /** A call answered, then the connection it went on idles until someone closes it. */
  async function idleAfterCall(t: CleanupHost, upstream: StubOptions): Promise<{ readonly gw: TestGateway & { readonly up: StubUpstream }; readonly by: 'gateway' | 'upstream'; readonly idleMs: number }> {
    let answeredAt = 0;
    const gw = await gatewayTo(t, (req, res) => {
      res.on('finish', () => (answeredAt = performance.now()));
      sendJson(res, resultFor(req, {}));
    }, upstream, keepAliveMs);
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'x', arguments: {} }));
    assert.equal(reply.status, 200);
    const socket = gw.up.requests.at(-1)?.socket;
    assert.ok(socket !== undefined);
    const by = await closer(socket);
    return { gw, by, idleMs: performance.now() - answeredAt };
  }

  it('an upstream that closes idle connections without a hint (as uWS does): the gateway closes first, after its limit, and the next call is answered on a new connection', testTimeout, async (t) => {
    const { gw, by, idleMs } = await idleAfterCall(t, { idleClose: { ms: 3_000, hint: false } });
    assert.equal(by, 'gateway', `the upstream closed the connection after ${idleMs.toFixed(0)} ms idle`);
    // timers run on the loop's millisecond clock: allow a tick's rounding
    assert.ok(idleMs >= keepAliveMs - 2, `closed after ${idleMs.toFixed(0)} ms idle`);
    const reply = await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'x', arguments: {} }));
    assert.equal(reply.status, 200);
    assert.notEqual(gw.up.requests.at(-1)?.socket, gw.up.requests.at(-2)?.socket);
  });

  it('a Keep-Alive hint longer than the limit does not keep the connection open longer', testTimeout, async (t) => {
    const { by, idleMs } = await idleAfterCall(t, { idleClose: { ms: 60_000, hint: true } });
    assert.equal(by, 'gateway');
    assert.ok(idleMs >= keepAliveMs - 2 && idleMs < 10_000, `closed after ${idleMs.toFixed(0)} ms idle`);
  });
});
