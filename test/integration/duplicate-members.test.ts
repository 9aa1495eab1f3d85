// A request is decided on exactly what is relayed: JSON.parse keeps the last of two members with
// one name, an upstream's parser may keep the first, so a message naming a member twice
// (`{"params":{"name":"a","name":"b"}}`) would be authorized as one call and run as another.
// Such messages are refused whole, before any decision, and nothing reaches the upstream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayYaml, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

const twice: ReadonlyArray<readonly [string, string]> = [
  ['name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_everything","arguments":{}}}'],
  ['name (escaped)', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\\u0061me":"delete_everything"}}'],
  ['method', '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"delete_everything"}}'],
  ['id', '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'],
  ['params', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"params":{"name":"delete_everything"}}'],
  ['uri', '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///ok","uri":"file:///etc/shadow"}}'],
  ['a member deep in the arguments', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":[{"path":"/tmp","path":"/"}]}}}'],
  ['jsonrpc', '{"jsonrpc":"1.0","jsonrpc":"2.0","id":1,"method":"ping"}'],
  ['a notification', '{"jsonrpc":"2.0","method":"notifications/initialized","method":"notifications/cancelled"}'],
  ['a response', '{"jsonrpc":"2.0","id":1,"result":{},"result":{"x":1}}'],
];

test('a message with a duplicate member anywhere is refused with 400 -32600 and never relayed', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: ['mcp.tool.name == "echo"'] }) });
  for (const [what, body] of twice) {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${keys.admin}` },
      body,
    });
    assert.equal(res.status, 400, what);
    const answer = await res.text();
    assert.match(answer, /^\{"jsonrpc":"2\.0","id":null,"error":\{"code":-32600,"message":"duplicate member [^}]*","data":\{"code":"GW_INVALID_MESSAGE"\}\}\}$/, what);
  }
  assert.deepEqual(up.requests, [], 'nothing reached the upstream');
  const logged = gw.log.accessLines();
  assert.equal(logged.length, twice.length);
  for (const line of logged) assert.match(line, /http\.status=400 .*error="duplicate member /);
  // the same names in different objects are fine
  const ok = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${keys.admin}` },
    body: '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"name":"x","params":{"name":"y"}}}}',
  });
  assert.equal(ok.status, 200);
  assert.equal(up.requests.length, 1);
});

test('on the legacy HTTP+SSE transport too: 400, nothing relayed', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const sse = await fetch(gw.url.replace(/\/mcp$/, '/sse'), { headers: { accept: 'text/event-stream', authorization: `Bearer ${keys.admin}` } });
  assert.equal(sse.status, 200);
  const reader = sse.body?.getReader();
  assert.ok(reader !== undefined);
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const endpoint = /data: (\S+)/.exec(text)?.[1];
  assert.ok(endpoint !== undefined, text);
  const res = await fetch(new URL(endpoint, gw.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` },
    body: twice[0]?.[1] ?? '',
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /duplicate member "name"/);
  await reader.cancel();
  assert.deepEqual(up.requests.filter((r) => r.rpcMethod === 'tools/call'), []);
});

test('a request nested deeper than 128 levels is refused with 400 -32600 and never relayed', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url }) });
  const send = (depth: number): Promise<Response> =>
    fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${keys.admin}` },
      body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}}`,
    });
  const refused = await send(100_000);
  assert.equal(refused.status, 400);
  assert.equal(await refused.text(), '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"nested deeper than 128 levels","data":{"code":"GW_INVALID_MESSAGE"}}}');
  assert.deepEqual(up.requests, []);
  const fine = await send(120);
  assert.equal(fine.status, 200);
  assert.equal(up.requests.length, 1);
});
