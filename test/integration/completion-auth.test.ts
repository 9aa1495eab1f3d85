// completion/complete names a prompt or a resource template: its suggestions tell about an item,
// so it is judged like a call of that item, and routed by its prefix like one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { gatewayYaml, startTestGateway } from '../helpers/gateway-harness.js';
import { errorOf, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

const complete = (id: number, ref: Readonly<Record<string, unknown>>) => rpc(id, 'completion/complete', { ref, argument: { name: 'a', value: 'x' } });

test('a completion for a prompt or resource the rules hide is refused as unknown, and never reaches the upstream', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const rules = ['mcp.prompt.name == "ok" || mcp.resource.name == "file:///ok/{x}"'];
  const gw = await startTestGateway(t, { configText: gatewayYaml({ upstreamUrl: up.url, mode: null, rules }) });
  for (const [ref, message] of [
    [{ type: 'ref/prompt', name: 'secret' }, 'Unknown prompt: secret'],
    [{ type: 'ref/resource', uri: 'file:///secret/{x}' }, 'Unknown resource: file:///secret/{x}'],
    [{ type: 'ref/other', name: 'ok' }, 'Unknown prompt: '],
  ] as const) {
    const reply = await mcpFetch(gw.url, complete(1, ref));
    assert.equal(reply.status, 200);
    assert.equal(errorOf(reply).message, message);
  }
  assert.equal(up.requests.length, 0);
  for (const ref of [{ type: 'ref/prompt', name: 'ok' }, { type: 'ref/resource', uri: 'file:///ok/{x}' }]) {
    const reply = await mcpFetch(gw.url, complete(2, ref));
    assert.equal(reply.status, 200, JSON.stringify(ref));
  }
  assert.deepEqual(up.requests.map((r) => r.rpcMethod), ['completion/complete', 'completion/complete']);
});

test('with prefixed names a completion goes to the target its ref names, the prefix taken off', async (t) => {
  const a = await startRecordingUpstream();
  const b = await startRecordingUpstream();
  t.after(() => Promise.all([a.close(), b.close()]));
  const configText = stringify({
    binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'a', mcp: { host: a.url } }, { name: 'b', mcp: { host: b.url } }] } }] }] }] }],
  });
  const gw = await startTestGateway(t, { configText });
  const reply = await mcpFetch(gw.url, complete(3, { type: 'ref/prompt', name: 'b_greet' }));
  assert.equal(reply.status, 200);
  assert.equal(a.requests.length, 0);
  const sent: unknown = JSON.parse(b.requests[0]?.body ?? '{}');
  assert.deepEqual(sent, { jsonrpc: '2.0', id: 3, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'a', value: 'x' } } });
});
