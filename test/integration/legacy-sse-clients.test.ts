// Clients on the deprecated HTTP+SSE transport (2024-11-05), served at /sse as agentgateway
// does: the real MCP Inspector CLI with `--transport sse` connects through the gateway, the
// lab's rule filters its tool list and refuses its denied call, and it needs a token like any
// other client. A POST naming another user's (or no) session gets 404.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { runInspector } from '../helpers/inspector.js';

test('the Inspector CLI over legacy SSE: filtered list, allowed and refused calls, 401 without a token', async (t) => {
  const keys = await labKeys(t);
  const echo = await startEchoServer({ mode: 'stateful' });
  t.after(() => echo.close());
  const gw = await startTestGateway(t, {
    cwd: keys.dir,
    configText: gatewayYaml({ upstreamUrl: echo.url, rules: ['mcp.tool.name == "echo" && "admin" in jwt.roles'] }),
  });
  const sse = gw.url.replace(/\/mcp$/, '/sse');
  const auth = (token: string): string[] => ['--header', `Authorization: Bearer ${token}`];
  const [adminList, jsmithList, call, refused, anonymous] = await Promise.all([
    runInspector(sse, ['--transport', 'sse', '--method', 'tools/list', ...auth(keys.admin)]),
    runInspector(sse, ['--transport', 'sse', '--method', 'tools/list', ...auth(keys.jsmith)]),
    runInspector(sse, ['--transport', 'sse', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=legacy', ...auth(keys.admin)]),
    runInspector(sse, ['--transport', 'sse', '--method', 'tools/call', '--tool-name', 'add', '--tool-arg', 'a=1', 'b=2', ...auth(keys.admin)]),
    runInspector(sse, ['--transport', 'sse', '--method', 'tools/list']),
  ]);
  assert.equal(adminList.code, 0, adminList.stderr);
  assert.deepEqual((JSON.parse(adminList.stdout) as { tools: Array<{ name: string }> }).tools.map((x) => x.name), ['echo']);
  assert.equal(jsmithList.code, 0, jsmithList.stderr);
  assert.deepEqual(JSON.parse(jsmithList.stdout), { tools: [] });
  assert.equal(call.code, 0, call.stderr);
  assert.match(call.stdout, /Echo: legacy/);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Unknown tool: add/);
  assert.notEqual(anonymous.code, 0);
  assert.match(anonymous.stderr, /401/);
});

test('a legacy POST naming an unknown session gets 404 and reaches nothing', async (t) => {
  const keys = await labKeys(t);
  const echo = await startEchoServer({ mode: 'stateful' });
  t.after(() => echo.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: echo.url }) });
  const res = await fetch(gw.url.replace(/\/mcp$/, '/sse?sessionId=made-up'), {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(res.status, 404);
  assert.equal(await res.text(), 'Session not found');
});
