// A gateway session id is valid on the route that opened it only: another route's target of the
// same name may be another server, under other rules.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';

test('a session opened on one route is not found on another', async (t) => {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const sid = req.headers['mcp-session-id'];
      seen.push(typeof sid === 'string' ? sid : undefined);
      const msg: unknown = JSON.parse(body);
      const id = typeof msg === 'object' && msg !== null && 'id' in msg ? msg.id : null;
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session-1' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/mcp`;
  const backend = { mcp: { targets: [{ name: 'mcp', mcp: { host: url } }] } };
  const configText = stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              { name: 'a', matches: [{ path: { pathPrefix: '/a' } }], backends: [backend] },
              { name: 'b', matches: [{ path: { pathPrefix: '/b' } }], backends: [backend] },
            ],
          },
        ],
      },
    ],
  });
  const gw = await startTestGateway(t, { configText });
  const base = gw.url.replace(/\/mcp$/, '');
  const init = await mcpFetch(`${base}/a/mcp`, initializeRequest());
  const sessionId = init.headers.get('mcp-session-id');
  assert.ok(sessionId !== null);
  const same = await mcpFetch(`${base}/a/mcp`, rpc(2, 'ping'), { sessionId });
  assert.equal(same.status, 200);
  const other = await mcpFetch(`${base}/b/mcp`, rpc(3, 'ping'), { sessionId });
  assert.equal(other.status, 404);
  assert.match(other.text, /Session not found/);
  assert.deepEqual(seen, [undefined, 'upstream-session-1']);
});
