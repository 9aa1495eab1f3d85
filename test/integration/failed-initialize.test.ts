// An initialize the client will not get a session from (a target failed it or refused it), or a
// session that ended for the client (one target no longer knows it), must not leave behind the
// stdio processes it started: before, they waited for the 30-minute idle reaper, holding a slot
// of the caller's session limit. (HTTP targets' sessions get a DELETE: fanout-answers.test.ts.)
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStatusUpstream } from '../helpers/raw-http.js';

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
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.on('close', onGone);
    res.writeHead(200).flushHeaders();
    onAlive();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { url: `http://127.0.0.1:${address.port}/`, alive, gone };
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
  const forgetful = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const message: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      const isInit = typeof message === 'object' && message !== null && 'method' in message && message.method === 'initialize';
      if (!isInit) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('session not found');
        return;
      }
      const id = 'id' in message ? message.id : null;
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'forgotten' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'f', version: '1' } } }));
    });
  });
  await new Promise<void>((resolve) => forgetful.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => forgetful.close(() => resolve())));
  const address = forgetful.address();
  assert.ok(address !== null && typeof address === 'object');
  const gw = await startTestGateway(t, {
    configText: routeTo([
      { name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer(life.url, false)] } },
      { name: 'f', mcp: { host: `http://127.0.0.1:${address.port}/mcp` } },
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
