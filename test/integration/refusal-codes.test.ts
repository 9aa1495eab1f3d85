// Every answer the gateway makes itself names its refusal code: an `x-portcullis-error` field on
// every such answer, and `error.data.code` in a JSON-RPC one. One request per refusal path of the
// pipeline and the MCP backend, against a real gateway and upstream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { REFUSALS } from '../../src/main/refusals.js';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { MCP_ACCEPT, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

test('each refusal path answers with its code, its status and its form', async (t) => {
  const keys = await labKeys(t);
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const configText = stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                matches: [{ path: { pathPrefix: '/mcp' } }],
                policies: {
                  jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } },
                  mcpAuthorization: { rules: ['mcp.tool.name == "echo"'] },
                },
                backends: [{ mcp: { targets: [{ name: 'up', mcp: { host: up.url } }] } }],
              },
            ],
          },
        ],
      },
    ],
  });
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: configText + 'config:\n  maxBufferSize: 1000\n' });
  const base = gw.url.replace(/\/mcp$/, '');
  const auth = { authorization: `Bearer ${keys.admin}` };
  const json = { 'content-type': 'application/json', accept: MCP_ACCEPT };
  const cases: ReadonlyArray<readonly [string, string, RequestInit, string]> = [
    ['no route', `${base}/other`, { method: 'POST', headers: { ...json, ...auth }, body: '{}' }, 'GW_ROUTE_NOT_FOUND'],
    ['no token', gw.url, { method: 'POST', headers: json, body: JSON.stringify(rpc(1, 'ping')) }, 'GW_UNAUTHENTICATED'],
    ['a method MCP has not', gw.url, { method: 'PUT', headers: { ...json, ...auth }, body: '{}' }, 'GW_METHOD_NOT_ALLOWED'],
    ['not JSON', gw.url, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' }, 'GW_UNSUPPORTED_MEDIA_TYPE'],
    ['too large', gw.url, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify(rpc(1, 'ping', { pad: 'p'.repeat(2000) })) }, 'GW_BODY_TOO_LARGE'],
    ['invalid JSON-RPC', gw.url, { method: 'POST', headers: { ...json, ...auth }, body: '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}' }, 'GW_INVALID_MESSAGE'],
    ['a made-up session', gw.url, { method: 'POST', headers: { ...json, ...auth, 'mcp-session-id': 'made-up' }, body: JSON.stringify(rpc(1, 'ping')) }, 'GW_SESSION_NOT_FOUND'],
    ['a denied tool', gw.url, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify(rpc(1, 'tools/call', { name: 'secret', arguments: {} })) }, 'GW_UNKNOWN_TARGET'],
    ['a foreign origin', gw.url, { method: 'POST', headers: { ...json, ...auth, origin: 'https://evil.example' }, body: JSON.stringify(rpc(1, 'ping')) }, 'GW_ORIGIN_NOT_ALLOWED'],
  ];
  for (const [what, url, init, code] of cases) {
    const res = await fetch(url, init);
    const text = await res.text();
    const shape = Object.entries(REFUSALS).find(([k]) => k === code)?.[1];
    assert.ok(shape !== undefined, code);
    assert.equal(res.headers.get('x-portcullis-error'), code, what);
    assert.equal(res.status, shape.status, `${what}: ${text}`);
    if (shape.form === 'json-rpc') {
      const body: unknown = JSON.parse(text);
      const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
      assert.ok(typeof error === 'object' && error !== null && 'data' in error, what);
      assert.deepEqual(error.data, { code }, what);
    } else assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, what);
  }
  assert.deepEqual(up.requests.filter((r) => r.rpcMethod === 'tools/call'), [], 'no refused call reached the upstream');
  // An upstream's own answers carry no such field.
  const relayed = await fetch(gw.url, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify(rpc(2, 'ping')) });
  assert.equal(relayed.status, 200);
  assert.equal(relayed.headers.get('x-portcullis-error'), null);
});
