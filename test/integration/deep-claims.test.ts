// Claims nested deeper than any parser of the ecosystem takes (serde_json's 128 levels, which
// agentgateway reads claims with) are refused at verification with 401: before, a claim nested
// 3,000 deep passed and then broke the list filter (500) on every request of its holder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayYaml, LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway } from '../helpers/gateway-harness.js';
import { inSeconds } from '../helpers/keys.js';
import { itemNames, mcpFetch, resultOf, rpc } from '../helpers/mcp-http.js';
import { startEchoServer } from '../../examples/echo-server/server.js';

function nested(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let v: unknown = 'admin';
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

test('a claim nested 3,000 deep is a 401 naming the depth; 60 levels still pass the rules and the list filter', async (t) => {
  const keys = await labKeys(t);
  const up = await startEchoServer({ mode: 'stateless-json' });
  t.after(() => up.close());
  const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules: ['mcp.tool.name == "echo" && has(jwt.org)'] }) });
  const base = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', exp: inSeconds(600) };
  const deep = await keys.issuer.sign({ ...base, org: nested(3000, (v) => [v]) });
  const refused = await mcpFetch(gw.url, rpc(1, 'tools/list'), { token: deep });
  assert.equal(refused.status, 401);
  assert.match(refused.text, /nested deeper than 128 levels/);

  const fine = await keys.issuer.sign({ ...base, org: nested(60, (v) => ({ roles: v })) });
  const listed = await mcpFetch(gw.url, rpc(2, 'tools/list'), { token: fine });
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(itemNames(resultOf(listed), 'tools'), ['echo']);
});
