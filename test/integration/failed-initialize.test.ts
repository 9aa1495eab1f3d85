// An initialize the client will not get a session from (a target failed it or refused it), or a
// session that ended for the client (one target no longer knows it), must not leave behind the
// stdio processes it started: before, they waited for the 30-minute idle reaper, holding a slot
// of the caller's session limit. (HTTP targets' sessions get a DELETE: fanout-answers.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStatusUpstream } from '../helpers/raw-http.js';
import { initializeResult, resultFor, sendJson, startStub } from '../helpers/stub-upstream.js';

/** A server the stdio process holds a request to for as long as it lives: `gone` settles when
 * that request's connection closes, i.e. when the process has ended. */
async function lifeline(t: test.TestContext): Promise<{ readonly url: string; readonly alive: Promise<void>; readonly gone: Promise<void> }> {
  let onAlive: () => void = () => {};
  let onGone: () => void = () => {};
  const alive = new Promise<void>((resolve) => {
    onAlive = resolve;
  });
  const gone = new Promise<void>((resolve) => {
    onGone = resolve;
  });
  const stub = await startStub(t, (_req, res) => {
    res.on('close', onGone);
    res.writeHead(200).flushHeaders();
    onAlive();
  });
  return { url: `http://127.0.0.1:${stub.port}/`, alive, gone };
}

/** A stdio MCP server that holds a request to `lifelineUrl` while it runs, and answers
 * initialize with a result, or (`refuse`) with a JSON-RPC error. */
function stdioServer(lifelineUrl: string, refuse: boolean): string {
  const answer = refuse
    ? `{ error: { code: -32603, message: 'cannot start' } }`
    : `{ result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }`;
  return `
require('node:http').get(${JSON.stringify(lifelineUrl)});
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...${answer} }) + '\\n');
});`;
}

function routeTo(targets: ReadonlyArray<Readonly<Record<string, unknown>>>): string {
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets } }] }] }] }] });
}

test('an initialize that fails on one target ends the stdio process another target started', async (t) => {
  const life = await lifeline(t);
  const gw = await startTestGateway(t, {
    configText: routeTo([
      { name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer(life.url, false)] } },
      { name: 'b', mcp: { host: await startStatusUpstream(t, 500) } },
    ]),
  });
  const init = await mcpFetch(gw.url, initializeRequest(), {});
  assert.equal(init.status, 502);
  assert.equal(init.headers.get('mcp-session-id'), null);
  await life.alive;
  await life.gone;
});

test('a stdio server that refuses initialize: no session for the client, and its process ends', async (t) => {
  const life = await lifeline(t);
  const gw = await startTestGateway(t, {
    configText: routeTo([{ name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer(life.url, true)] } }]),
  });
  const init = await mcpFetch(gw.url, initializeRequest(), {});
  assert.equal(init.status, 200);
  assert.deepEqual(init.messages[0]?.['error'], { code: -32603, message: 'cannot start' });
  assert.equal(init.headers.get('mcp-session-id'), null, 'a refused initialize named a session');
  await life.alive;
  await life.gone;
});

test('a stdio server that accepts initialize keeps running for the session it opened', async (t) => {
  const life = await lifeline(t);
  const gw = await startTestGateway(t, {
    configText: routeTo([{ name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer(life.url, false)] } }]),
  });
  const init = await mcpFetch(gw.url, initializeRequest(), {});
  assert.equal(init.status, 200);
  assert.notEqual(init.headers.get('mcp-session-id'), null);
  await life.alive;
  // Still running after the answer: a request in the session is answered by that process.
  const again = await mcpFetch(gw.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { sessionId: init.headers.get('mcp-session-id') ?? '' });
  assert.equal(again.status, 200);
  assert.deepEqual(again.messages[0]?.['result'], { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } });
});

test('a multiplexed session one target has forgotten: 404, and the stdio process of another target ends', async (t) => {
  const life = await lifeline(t);
  // Opens a session on initialize; knows no session afterwards (as after its restart).
  const forgetful = await startStub(t, (req, res) => {
    if (req.rpcMethod !== 'initialize') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('session not found');
      return;
    }
    sendJson(res, resultFor(req, initializeResult('f')), { 'mcp-session-id': 'forgotten' });
  });
  const gw = await startTestGateway(t, {
    configText: routeTo([
      { name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer(life.url, false)] } },
      { name: 'f', mcp: { host: forgetful.url } },
    ]),
  });
  const init = await mcpFetch(gw.url, initializeRequest(), {});
  assert.equal(init.status, 200, init.text);
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId !== null);
  await life.alive;
  const list = await mcpFetch(gw.url, rpc(2, 'tools/list'), { sessionId });
  assert.equal(list.status, 404);
  await life.gone;
});
