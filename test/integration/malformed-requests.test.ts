// Requests a client can malform on purpose: none may take the gateway down or get past it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, notification, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

test('a malformed percent-encoding in the query is no route match, and a malformed legacy session id a 400', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const target = { mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } };
  const configText = stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              { name: 'tenant-a', matches: [{ path: { pathPrefix: '/' }, query: [{ name: 'tenant', value: { exact: 'a' } }] }], backends: [target] },
              { name: 'other', backends: [target] },
            ],
          },
        ],
      },
    ],
  });
  const gw = await startTestGateway(t, { configText });
  for (const query of ['%zz=1', 'tenant=%E0%A4%A', 'tenant%=a', 'x=1&tenant=%zz']) {
    const reply = await mcpFetch(`${gw.url}?${query}`, rpc(1, 'ping'));
    assert.equal(reply.status, 200, query);
    assert.match(gw.log.lines.filter((l) => l.includes('route=')).at(-1) ?? '', /route=other/, query);
  }
  // still routed where a good pair matches after a bad one
  const matched = await mcpFetch(`${gw.url}?%zz=1&tenant=a`, rpc(2, 'ping'));
  assert.equal(matched.status, 200);
  assert.match(gw.log.lines.filter((l) => l.includes('route=')).at(-1) ?? '', /route=tenant-a/);

  const legacy = await fetch(`${gw.url.replace(/\/mcp$/, '/sse')}?sessionId=%zz`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(rpc(3, 'ping')),
  });
  assert.equal(legacy.status, 400);
  assert.equal(await legacy.text(), 'failed to process session_id');
  assert.equal(gw.log.lines.some((l) => l.includes('request failed')), false);
});

test('a call sent as a notification is refused and never reaches the upstream', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  for (const method of ['tools/call', 'prompts/get', 'resources/read']) {
    const reply = await mcpFetch(gw.url, { ...notification(method), params: { name: 'secret', uri: 'file:///secret', arguments: {} } });
    assert.equal(reply.status, 400, method);
    assert.match(reply.text, new RegExp(`${method} must be a request`), method);
  }
  const ok = await mcpFetch(gw.url, notification('notifications/initialized'));
  assert.equal(ok.status, 202);
  assert.deepEqual(up.requests.map((r) => r.rpcMethod), ['notifications/initialized']);
});

test('a method of the client\'s own spelling is counted as other, and a huge one is cut in the access log', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }] }] }] }] });
  const gw = await startTestGateway(t, { configText });
  const huge = `x/${'A'.repeat(100_000)}`;
  for (let i = 0; i < 50; i++) await mcpFetch(gw.url, rpc(i, `made/up/${i}`));
  await mcpFetch(gw.url, rpc(99, huge));
  await mcpFetch(gw.url, rpc(100, 'ping'));
  const metrics = gw.gateway.metrics.render();
  assert.match(metrics, /portcullis_mcp_requests_total\{method="other"\} 51/);
  assert.match(metrics, /portcullis_mcp_requests_total\{method="ping"\} 1/);
  assert.doesNotMatch(metrics, /made\/up/);
  const line = gw.log.lines.find((l) => l.includes('mcp.method=x/AAAA')) ?? '';
  assert.ok(line.length > 0 && line.length < 2000, `access line of ${line.length} characters`);
});
