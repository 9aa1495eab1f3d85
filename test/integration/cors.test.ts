// CORS runs before jwtAuth (DESIGN.md policy order): a browser's preflight needs no token, and
// rejections carry CORS headers. Lab config 1's shape (allowOrigins/allowHeaders "*", strict
// jwtAuth) in front of the stateful echo server, seen through a recording proxy.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, itemNames, mcpFetch, resultOf, rpc, type McpReply } from '../helpers/mcp-http.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-upstream.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const ORIGIN = 'http://app.example.com:5173';
let keys: LabKeys;
let proxy: RecordingProxy;

before(async () => {
  keys = await labKeys(suite);
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  suite.after(() => echo.close());
  proxy = await startRecordingProxy(echo.url);
  suite.after(() => proxy.close());
});

function preflight(url: string, origin: string): Promise<McpReply> {
  return mcpFetch(url, null, {
    method: 'OPTIONS',
    origin,
    headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

function corsHeaderNames(reply: McpReply): string[] {
  return [...reply.headers.keys()].filter((k) => k.startsWith('access-control-'));
}

function listOf(value: string | null): string[] {
  return (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}

describe('lab config 1 shape: allowOrigins ["*"], allowHeaders ["*"], strict jwtAuth', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: gatewayYaml({ upstreamUrl: proxy.url, mode: 'strict', cors: { allowOrigins: ['*'], allowHeaders: ['*'] } }),
    });
  });

  test('a preflight without a token is answered 200 by the gateway, echoing the origin and the requested headers', async () => {
    const seen = proxy.exchanges.length;
    const reply = await preflight(gw.url, ORIGIN);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, '');
    assert.equal(reply.headers.get('access-control-allow-origin'), ORIGIN);
    const allowed = listOf(reply.headers.get('access-control-allow-headers'));
    assert.ok(allowed.includes('*') || (allowed.includes('authorization') && allowed.includes('content-type')), `allow-headers: ${allowed.join(', ')}`);
    assert.equal(reply.headers.get('www-authenticate'), null);
    assert.equal(proxy.exchanges.length, seen, 'the preflight must not reach the upstream');
    const line = await gw.log.waitFor(/http\.method=OPTIONS/);
    assert.match(line, /http\.status=200/);
    assert.doesNotMatch(line, /error=/);
  });

  test('a POST without a token from an origin: 401 that carries access-control-allow-origin', async () => {
    const seen = proxy.exchanges.length;
    const reply = await mcpFetch(gw.url, initializeRequest(), { origin: ORIGIN });
    assert.equal(reply.status, 401, reply.text);
    assert.equal(reply.text, 'authentication failure: no bearer token found');
    assert.equal(reply.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(proxy.exchanges.length, seen);
  });

  test('a valid POST from an origin: CORS headers, and mcp-session-id is exposed to the browser', async () => {
    const reply = await mcpFetch(gw.url, initializeRequest(), { origin: ORIGIN, token: keys.jsmith });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(resultOf(reply)['protocolVersion'] !== undefined, true);
    assert.equal(reply.headers.get('access-control-allow-origin'), ORIGIN);
    const sid = reply.headers.get('mcp-session-id');
    assert.ok(sid !== null && sid !== '', 'the stateful upstream gives a session');
    const exposed = listOf(reply.headers.get('access-control-expose-headers'));
    assert.ok(exposed.includes('mcp-session-id') || exposed.includes('*'), `expose-headers: ${exposed.join(', ')}`);
    // Once: the gateway must not add a second copy of the upstream's CORS headers.
    assert.equal(reply.headers.get('access-control-allow-origin')?.split(',').length, 1);
    await mcpFetch(gw.url, null, { method: 'DELETE', token: keys.jsmith, sessionId: sid });
  });

  test('a request without an Origin gets no CORS headers', async () => {
    const reply = await mcpFetch(gw.url, initializeRequest(), {});
    assert.equal(reply.status, 401);
    assert.deepEqual(corsHeaderNames(reply), []);
  });
});

describe('a list of allowed origins', () => {
  const ALLOWED = 'https://allowed.example.com';
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: gatewayYaml({ upstreamUrl: proxy.url, mode: 'strict', cors: { allowOrigins: [ALLOWED], allowHeaders: ['*'] } }),
    });
  });

  test("a foreign origin's preflight: 200 without any CORS header, not forwarded", async () => {
    const seen = proxy.exchanges.length;
    const reply = await preflight(gw.url, 'https://evil.example.com');
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(corsHeaderNames(reply), []);
    assert.equal(proxy.exchanges.length, seen);
  });

  test("the listed origin's preflight is allowed", async () => {
    const reply = await preflight(gw.url, ALLOWED);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('access-control-allow-origin'), ALLOWED);
  });

  test("a foreign origin's rejected POST carries no CORS headers; the listed origin's does", async () => {
    const foreign = await mcpFetch(gw.url, initializeRequest(), { origin: 'https://evil.example.com' });
    assert.equal(foreign.status, 401);
    assert.deepEqual(corsHeaderNames(foreign), []);
    const listed = await mcpFetch(gw.url, initializeRequest(), { origin: ALLOWED });
    assert.equal(listed.status, 401);
    assert.equal(listed.headers.get('access-control-allow-origin'), ALLOWED);
  });
});

describe('CORS on MCP answers the gateway rewrites (config 2 shape, JSON upstream)', () => {
  let gw: TestGateway;
  before(async () => {
    const echo = await startEchoServer({ port: 0, mode: 'stateless-json' });
    suite.after(() => echo.close());
    gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: gatewayYaml({
        upstreamUrl: echo.url,
        mode: 'strict',
        cors: { allowOrigins: ['*'], allowHeaders: ['*'] },
        rules: ['mcp.tool.name == "echo" && "admin" in jwt.roles'],
      }),
    });
  });

  test('a filtered tools/list carries the CORS headers exactly once', async () => {
    const reply = await mcpFetch(gw.url, rpc(2, 'tools/list'), { origin: ORIGIN, token: keys.admin });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(itemNames(resultOf(reply), 'tools'), ['echo']);
    assert.equal(reply.headers.get('access-control-allow-origin'), ORIGIN);
    const exposed = listOf(reply.headers.get('access-control-expose-headers'));
    assert.equal(new Set(exposed).size, exposed.length, `duplicated expose-headers: ${exposed.join(', ')}`);
  });

  test('a refused tools/call (answered by the gateway) carries the CORS headers', async () => {
    const reply = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }), { origin: ORIGIN, token: keys.jsmith });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(reply.text, /Unknown tool: echo/);
  });
});

describe('allowOrigins entries are origins, compared as browsers send them', () => {
  test('an entry written with its scheme\'s default port admits the origin a browser sends (which never has it)', async () => {
    const gw = await startTestGateway(suite, {
      cwd: keys.dir,
      configText: gatewayYaml({ upstreamUrl: proxy.url, mode: 'strict', cors: { allowOrigins: ['https://app.example.com:443', 'http://tools.example.com:80'] } }),
    });
    for (const origin of ['https://app.example.com', 'http://tools.example.com']) {
      const reply = await preflight(gw.url, origin);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.headers.get('access-control-allow-origin'), origin);
    }
    // another port is another origin
    assert.equal((await preflight(gw.url, 'https://app.example.com:8443')).headers.get('access-control-allow-origin'), null);
  });
});
