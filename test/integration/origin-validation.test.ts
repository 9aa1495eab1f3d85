// DNS-rebinding protection (transport spec: a present, invalid Origin gets 403). The MCP
// conformance suite's dns-rebinding-protection scenario sends Host and Origin of
// evil.example.com: the reference server refuses it, but through the gateway it was accepted,
// because the gateway rewrites Host to the target's and checked no Origin itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { errorOf, initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';
import { stringify } from 'yaml';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let proxy: RecordingProxy;
before(async () => {
  const echo = await startEchoServer({ port: 0, mode: 'stateless-json' });
  suite.after(() => echo.close());
  proxy = await startRecordingProxy(echo.url);
  suite.after(() => proxy.close());
});

function hostnamesYaml(upstreamUrl: string, hostnames: string[]): string {
  return stringify({
    binds: [{ port: 0, listeners: [{ routes: [{ hostnames, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstreamUrl } }] } }] }] }] }],
  });
}

describe('no cors policy', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(suite, { configText: singleRouteYaml(proxy.url, {}) });
  });

  test('a foreign Origin (the conformance dns-rebinding request) gets 403 and never reaches the upstream', async () => {
    const seen = proxy.exchanges.length;
    const reply = await mcpFetch(gw.url, initializeRequest(), { origin: 'http://evil.example.com', headers: { host: 'evil.example.com' } });
    assert.equal(reply.status, 403, reply.text);
    assert.equal(errorOf(reply).code, -32000);
    assert.equal(proxy.exchanges.length, seen);
  });

  test('"null" and non-http origins are refused', async () => {
    for (const origin of ['null', 'file://', 'chrome-extension://abc']) {
      const reply = await mcpFetch(gw.url, initializeRequest(), { origin });
      assert.equal(reply.status, 403, origin);
    }
  });

  test('no Origin (clients that are not browsers), and loopback origins, are served', async () => {
    assert.equal((await mcpFetch(gw.url, initializeRequest())).status, 200);
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1:9000', 'http://[::1]:3000']) {
      assert.equal((await mcpFetch(gw.url, initializeRequest(), { origin })).status, 200, origin);
    }
  });
});

describe('cors allowOrigins', () => {
  test('a listed origin is served, another refused', async () => {
    const gw = await startTestGateway(suite, { configText: singleRouteYaml(proxy.url, { cors: { allowOrigins: ['https://app.example.com'] } }) });
    assert.equal((await mcpFetch(gw.url, initializeRequest(), { origin: 'https://app.example.com' })).status, 200);
    assert.equal((await mcpFetch(gw.url, initializeRequest(), { origin: 'https://evil.example.com' })).status, 403);
  });

  test('"*" admits every origin', async () => {
    const gw = await startTestGateway(suite, { configText: singleRouteYaml(proxy.url, { cors: { allowOrigins: ['*'] } }) });
    assert.equal((await mcpFetch(gw.url, initializeRequest(), { origin: 'https://evil.example.com' })).status, 200);
  });
});

test("an origin on one of the route's hostnames is served", async () => {
  const gw = await startTestGateway(suite, { configText: hostnamesYaml(proxy.url, ['mcp.corp.example', '127.0.0.1']) });
  const reply = await mcpFetch(gw.url, initializeRequest(), { origin: 'https://mcp.corp.example' });
  assert.equal(reply.status, 200, reply.text);
  assert.equal((await mcpFetch(gw.url, initializeRequest(), { origin: 'https://other.corp.example' })).status, 403);
});
