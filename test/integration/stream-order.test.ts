// A session's GET event stream reaches the upstream before the POSTs the client sent after it.
// Servers send sampling/elicitation requests on the GET stream and drop them while it is not
// open (the SDK's server transport does), so a POST that overtakes the GET can hang its tool call
// (the MCP conformance suite's tools-call-sampling, tools-call-elicitation and
// elicitation-sep1034-defaults failed that way through the gateway in about one run in ten).
// The upstream here answers the GET's head only after a delay and records what it saw when.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, PROTOCOL_VERSION, mcpFetch, openMcpSession, rpc } from '../helpers/mcp-http.js';
import { initializeResult, resultFor, sendJson, sendStreamHead, startStub } from '../helpers/stub-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

/** What the upstream saw, in order: 'get', 'get-head', 'post:<method>'. */
let seen: string[] = [];
/** ms before the upstream answers a GET's head; null: never */
let getHeadDelay: number | null = 150;
let getArrived: (() => void) | null = null;
const streams: ServerResponse[] = [];
let gw: TestGateway;

before(async () => {
  const upstream = await startStub(suite, (req, res) => {
    if (req.method === 'GET') {
      seen.push('get');
      streams.push(res);
      getArrived?.();
      if (getHeadDelay !== null) {
        setTimeout(() => {
          seen.push('get-head');
          sendStreamHead(res);
        }, getHeadDelay);
      }
      return;
    }
    seen.push(`post:${req.rpcMethod}`);
    if (req.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    sendJson(res, resultFor(req, req.rpcMethod === 'initialize' ? initializeResult('order', {}) : {}), { 'mcp-session-id': 'upstream-session' });
  });
  suite.after(async () => {
    for (const res of streams.splice(0)) res.destroy();
  });
  gw = await startTestGateway(suite, { configText: gatewayYaml({ upstreamUrl: upstream.url, mode: null }) });
});

/** Opens the session's GET stream through the gateway; resolves once the upstream has the GET. */
async function openGet(sessionId: string, abort: AbortController): Promise<void> {
  const arrived = new Promise<void>((resolve) => (getArrived = resolve));
  void fetch(gw.url, {
    method: 'GET',
    headers: { accept: MCP_ACCEPT, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION, connection: 'close' },
    signal: abort.signal,
  }).catch(() => {});
  await arrived;
}

test('a POST sent while its session GET is being opened reaches the upstream after the GET is open', async () => {
  seen = [];
  getHeadDelay = 150;
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const abort = new AbortController();
  try {
    await openGet(sessionId, abort);
    const reply = await mcpFetch(gw.url, rpc(2, 'ping'), { sessionId });
    assert.equal(reply.status, 200);
    assert.deepEqual(seen.slice(-3), ['get', 'get-head', 'post:ping']);
  } finally {
    abort.abort();
  }
});

test('a GET whose head never comes holds the session POSTs back only briefly', async () => {
  seen = [];
  getHeadDelay = null;
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const abort = new AbortController();
  try {
    await openGet(sessionId, abort);
    const started = performance.now();
    const reply = await mcpFetch(gw.url, rpc(2, 'ping'), { sessionId });
    const took = performance.now() - started;
    assert.equal(reply.status, 200);
    assert.deepEqual(seen.slice(-2), ['get', 'post:ping']);
    assert.ok(took >= 200 && took < 2000, `the POST waited ${took.toFixed(0)} ms`);
  } finally {
    abort.abort();
  }
});

test('POSTs of another session are not held back', async () => {
  seen = [];
  getHeadDelay = null;
  const a = await openMcpSession(gw.url);
  const b = await openMcpSession(gw.url);
  assert.ok(a.sessionId !== undefined && b.sessionId !== undefined);
  const abort = new AbortController();
  try {
    await openGet(a.sessionId, abort);
    const started = performance.now();
    const reply = await mcpFetch(gw.url, rpc(2, 'ping'), { sessionId: b.sessionId });
    assert.equal(reply.status, 200);
    assert.ok(performance.now() - started < 200);
  } finally {
    abort.abort();
  }
});
