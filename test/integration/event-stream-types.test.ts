// Odd Content-Types on an upstream's answer, end to end: every part of the gateway that asks
// whether an answer is an event stream (the relay: stream it or hold it; forward: an initialize
// held to see whether it was refused; the h1 client: nothing pipelined behind a stream) reads
// the type the same way (src/protocol/media-type.ts). A leading-OWS type cannot be shown here:
// HTTP/1.1 parsers strip the OWS around a field value before the gateway sees it.
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { resultFor, sendJson, sseEvent, startStub, type StubRequest, type StubUpstream } from '../helpers/stub-upstream.js';
import { readUntil } from '../helpers/event-stream.js';

const testTimeout = { timeout: 20_000 };

async function gatewayTo(t: CleanupHost, script: (req: StubRequest, res: ServerResponse) => unknown, http?: object): Promise<TestGateway & { readonly up: StubUpstream }> {
  const up = await startStub(t, script);
  const target = { name: 'u', mcp: { host: up.url }, ...(http === undefined ? {} : { policies: { http } }) };
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [target] } }] }] }] }] });
  return { ...(await startTestGateway(t, { configText })), up };
}

/** Resolves with the value, or with 'timeout' after ms (a bound on a wait, not a sleep). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

function callBody(id: number): string {
  return JSON.stringify(rpc(id, 'tools/call', { name: 'slow', arguments: {}, _meta: { progressToken: id } }));
}

function post(url: string, id: number): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, connection: 'close' }, body: callBody(id) });
}

/** Opens an event stream under `contentType` (its head sent at once) with one progress event. */
function openStream(res: ServerResponse, req: StubRequest, contentType: OutgoingHttpHeaders['content-type']): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
  res.write(sseEvent({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: req.id, progress: 1 } }));
}

/** The client reads the progress event while the upstream holds the stream open, then its end. */
async function readsAsItComes(answer: Promise<Response>, streams: ServerResponse[], id: number): Promise<void> {
  const res = await within(answer, 5000);
  if (res === 'timeout') assert.fail('the head was held back');
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = await within(readUntil(reader, 'notifications/progress'), 5000);
  assert.notEqual(first, 'timeout', `the first event was held back (content-type ${res.headers.get('content-type')})`);
  streams.shift()?.end(sseEvent({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'done' }] } }));
  assert.match(await readUntil(reader, '"done"'), /"result"/);
  await reader.cancel();
}

describe('an event stream under an odd Content-Type', () => {
  for (const contentType of ['Text/Event-Stream', 'TEXT/EVENT-STREAM ; charset=utf-8', ['application/json', 'text/event-stream']]) {
    it(`is relayed as it comes: ${JSON.stringify(contentType)}`, testTimeout, async (t) => {
      const streams: ServerResponse[] = [];
      const gw = await gatewayTo(t, (req, res) => {
        openStream(res, req, contentType);
        streams.push(res);
      });
      await readsAsItComes(post(gw.url, 1), streams, 1);
    });
  }

  it('a pipelined target sends nothing behind it: the call written behind it fails at once, later calls are answered', testTimeout, async (t) => {
    const streams: ServerResponse[] = [];
    const gw = await gatewayTo(
      t,
      (req, res) => {
        if (req.id !== 1) return sendJson(res, resultFor(req, { content: [] }));
        // Its head comes once call 2 is on the connection behind it.
        void gw.up.arrived(1, (r) => r.id === 2).then(() => {
          openStream(res, req, ['application/json', 'text/event-stream']);
          streams.push(res);
        });
      },
      { pipelining: { connections: 1, depth: 4 } },
    );
    // A keep-alive answer first: pipelining starts after one.
    assert.equal((await mcpFetch(gw.url, rpc(100, 'tools/call', { name: 'warm', arguments: {} }))).status, 200);
    const streamed = post(gw.url, 1);
    await gw.up.arrived(1, (r) => r.id === 1);
    const behind = await within(mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'x', arguments: {} })), 5000);
    if (behind === 'timeout') assert.fail('the call behind the stream waited for its end');
    assert.equal(behind.status, 502, behind.text);
    assert.match(behind.text, /upstream u unavailable/);
    await readsAsItComes(streamed, streams, 1);
    const later = await Promise.all([3, 4].map((id) => mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'x', arguments: {} }))));
    assert.deepEqual(later.map((r) => r.status), [200, 200]);
  });
});

describe('an initialize refused under a Content-Type that only mentions the event-stream type', () => {
  it('is held and read as JSON: the client gets no session from it', testTimeout, async (t) => {
    const gw = await gatewayTo(t, (req, res) => {
      if (req.rpcMethod !== 'initialize') return sendJson(res, resultFor(req, {}));
      sendJson(res, { jsonrpc: '2.0', id: req.id, error: { code: -32603, message: 'cannot start' } }, { 'content-type': 'application/json; x=text/event-stream', 'mcp-session-id': 'opened' });
    });
    const init = await mcpFetch(gw.url, initializeRequest(), {});
    assert.equal(init.status, 200);
    assert.equal(init.headers.get('mcp-session-id'), null, 'a refused initialize named a session');
    // The session it opened upstream is ended.
    await gw.up.arrived(1, (r) => r.method === 'DELETE' && r.headers['mcp-session-id'] === 'opened');
  });
});
