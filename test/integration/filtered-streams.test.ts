// Event streams the gateway rewrites event by event (a route with rules): an event far larger
// than one socket read, arriving after the stream has started, comes through whole; and a client
// that does not read holds the upstream back instead of having the stream piled up for it.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startStub } from '../helpers/stub-upstream.js';

test('a 300 KB event that arrives in pieces after the stream started comes through whole', { timeout: 30_000 }, async (t) => {
  const keys = await labKeys(t);
  const text = 'y'.repeat(300_000);
  const message = JSON.stringify({ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text }] } });
  const up = await startStub(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': started\n\n');
    // after the gateway's first turn: the answer is streamed, not sent whole
    setTimeout(() => {
      res.write(`data: ${message.slice(0, 100_000)}`);
      setTimeout(() => res.end(`${message.slice(100_000)}\n\n`), 20);
    }, 50);
  });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: ['true'] }) });
  const reply = await mcpFetch(gw.url, rpc(5, 'tools/call', { name: 'echo', arguments: {} }), { token: keys.admin });
  assert.equal(reply.status, 200);
  assert.equal(reply.messages.length, 1);
  assert.equal(JSON.stringify(reply.messages[0]), message);
});

test('a client that does not read a rewritten stream holds the upstream back', { timeout: 60_000 }, async (t) => {
  const keys = await labKeys(t);
  let written = 0;
  let blocked: () => void = () => {};
  const upstreamBlocked = new Promise<void>((resolve) => (blocked = resolve));
  const event = `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'z'.repeat(60_000) } })}\n\n`;
  const total = 400 * 1024 * 1024;
  const up = await startStub(t, (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pump = (): void => {
      while (written < total) {
        written += event.length;
        if (!res.write(event)) {
          // Held back: the gateway stopped reading. If no drain comes soon, it is holding on.
          const timer = setTimeout(blocked, 1_000);
          res.once('drain', () => {
            clearTimeout(timer);
            pump();
          });
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: ['true'] }) });
  // A GET stream opened and never read (node's http client, paused: no back-pressure hidden in a fetch buffer).
  const req = httpRequest(gw.url, { method: 'GET', headers: { accept: MCP_ACCEPT, authorization: `Bearer ${keys.admin}` } });
  req.on('response', (res) => res.pause());
  req.end();
  t.after(() => req.destroy());
  await upstreamBlocked;
  assert.ok(written < 64 * 1024 * 1024, `the upstream wrote ${(written / 1024 / 1024).toFixed(0)} MiB before it was held back`);
  // and the gateway answers others meanwhile
  const other = await mcpFetch(gw.url, rpc(1, 'ping'), { token: keys.admin, headers: { accept: MCP_ACCEPT } });
  assert.equal(other.status, 405);
});

