// A target with `http.pipelining`, end to end: a real gateway, a real node:http upstream (which
// answers a connection's requests in order, as HTTP/1.1 pipelining requires). Many concurrent
// calls each get their own answer over no more connections than configured; a slow call delays
// only the calls behind it on its connection, and everyone still gets their own answer.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, rpc } from '../helpers/mcp-http.js';
import { resultFor, sendJson, startStub, type StubRequest, type StubUpstream } from '../helpers/stub-upstream.js';

const testTimeout = { timeout: 20_000 };

async function pipelinedGateway(t: CleanupHost, script: (req: StubRequest, res: ServerResponse) => unknown, pipelining: { connections: number; depth: number }): Promise<TestGateway & { readonly up: StubUpstream }> {
  const up = await startStub(t, script);
  const target = { name: 'u', mcp: { host: up.url }, policies: { http: { pipelining } } };
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [target] } }] }] }] }] });
  return { ...(await startTestGateway(t, { configText })), up };
}

/** The call's own argument back, as the answer's text. */
function echoOf(req: StubRequest): unknown {
  const params = req.message?.['params'];
  const args = typeof params === 'object' && params !== null && 'arguments' in params ? params.arguments : undefined;
  return { content: [{ type: 'text', text: JSON.stringify(args) }] };
}

async function call(gw: TestGateway, id: number, args: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const reply = await mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'echo', arguments: args }));
  return { status: reply.status, body: JSON.parse(reply.text) };
}

describe('pipelined target', () => {
  it('60 calls at once: each answered with its own result, over at most the configured connections', testTimeout, async (t) => {
    const gw = await pipelinedGateway(t, (req, res) => sendJson(res, resultFor(req, echoOf(req))), { connections: 2, depth: 16 });
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    const answers = await Promise.all(ids.map((id) => call(gw, id, { n: id })));
    answers.forEach((a, i) => {
      const id = ids[i];
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: JSON.stringify({ n: id }) }] } });
    });
    const calls = gw.up.requests.filter((r) => r.rpcMethod === 'tools/call');
    assert.equal(calls.length, 60);
    const connections = new Set(calls.map((r) => r.socket));
    assert.ok(connections.size <= 2, `${connections.size} upstream connections`);
  });

  it('a slow call holds up only the calls behind it; every caller gets its own answer', testTimeout, async (t) => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gw = await pipelinedGateway(
      t,
      (req, res) => {
        const answer = (): void => sendJson(res, resultFor(req, echoOf(req)));
        if (req.id === 1) void held.then(answer);
        else answer();
      },
      { connections: 2, depth: 8 },
    );
    const slow = call(gw, 1, { n: 1 });
    await gw.up.arrived(1, (r) => r.id === 1);
    const rest = Array.from({ length: 10 }, (_, i) => call(gw, i + 2, { n: i + 2 }));
    // The calls on the other connection are answered while the slow one is held.
    const first = await Promise.race(rest);
    assert.equal(first.status, 200);
    release?.();
    const all = await Promise.all([slow, ...rest]);
    for (const [i, a] of all.entries()) {
      assert.deepEqual(a.body, { jsonrpc: '2.0', id: i + 1, result: { content: [{ type: 'text', text: JSON.stringify({ n: i + 1 }) }] } });
    }
  });
});
