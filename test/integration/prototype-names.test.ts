// Request data spelling an Object.prototype member (`constructor`, `__proto__`, `toString`…) is
// ordinary data: a method by that name is an unknown method, a tool by that name an unknown (or
// relayed) tool, a header by that name a header, a target by that name a target. Each lookup
// keyed by such text once reached the prototype: a 500 from the list filter, a header forwarded
// as `function Object() { [native code] }, v1`, a target's session id read off Object.prototype.
// And cel-js tells maps by their `constructor` property: a header or claim of that name made
// every rule reading the map fail, so deny rules denied nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, gatewayYaml, labKeys, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { startGatedUpstream } from '../helpers/gated-upstream.js';
import { inSeconds } from '../helpers/keys.js';
import { errorOf, isRecord, itemNames, mcpFetch, notification, openMcpSession, resultOf, rpc } from '../helpers/mcp-http.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';
import type { CleanupHost } from '../helpers/files.js';

const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'toLocaleString', '__defineGetter__'];

async function upstream(t: CleanupHost, opts: { readonly sessionId?: string } = {}): Promise<RecordingUpstream> {
  const up = await startRecordingUpstream(opts);
  t.after(() => up.close());
  return up;
}

/** One route, its MCP targets named as given, with the given policies. */
function targetsYaml(targets: ReadonlyArray<readonly [string, string]>, policies: Readonly<Record<string, unknown>> = {}): string {
  const mcp = { targets: targets.map(([name, host]) => ({ name, mcp: { host } })) };
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp }] }] }] }] });
}

function lastBody(up: RecordingUpstream): Record<string, unknown> {
  const body: unknown = JSON.parse(up.requests.at(-1)?.body ?? 'null');
  assert.ok(isRecord(body));
  return body;
}

async function stillServing(gw: TestGateway): Promise<void> {
  const ping = await mcpFetch(gw.url, rpc(999, 'ping'));
  assert.equal(ping.status, 200, ping.text);
  assert.equal(gw.log.lines.some((l) => l.includes('request failed')), false, gw.log.lines.join('\n'));
}

test('a method named like an Object.prototype member is relayed as any unknown method is, inline and on the pool, with rules', async (t) => {
  const up = await upstream(t);
  for (const workers of [0, 1]) {
    // Rules: every answer passes the list filter, which is where a prototype "list kind" broke.
    const gw = await startTestGateway(t, { configText: singleRouteYaml(up.url, { mcpAuthorization: { rules: ['true'] } }), workers });
    const baseline = await mcpFetch(gw.url, rpc(1, 'made/up'));
    assert.equal(baseline.status, 200, baseline.text);
    for (const method of PROTO_NAMES) {
      const reply = await mcpFetch(gw.url, rpc(1, method));
      assert.equal(reply.status, baseline.status, `${method} (workers ${workers}): ${reply.text}`);
      assert.deepEqual(resultOf(reply), resultOf(baseline), method);
      assert.equal(up.requests.at(-1)?.rpcMethod, method, 'relayed to the upstream');
      const note = await mcpFetch(gw.url, notification(method));
      assert.equal(note.status, 202, `${method} as a notification: ${note.text}`);
    }
    // A JSON-RPC id of that spelling is an id like any other.
    const byId = await mcpFetch(gw.url, { jsonrpc: '2.0', id: '__proto__', method: 'ping' });
    assert.equal(byId.status, 200, byId.text);
    assert.equal(byId.messages[0]?.['id'], '__proto__');
    await stillServing(gw);
    assert.match(await gw.gateway.metrics.render(), new RegExp(`portcullis_mcp_requests_total\\{method="other"\\} ${1 + 2 * PROTO_NAMES.length}\\n`));
  }
});

test('across several targets: such a method gets the unknown-method answer, such a tool name the unknown-tool one, and `x___proto__` goes to x', async (t) => {
  const x = await upstream(t);
  const y = await upstream(t);
  const gw = await startTestGateway(t, { configText: targetsYaml([['x', x.url], ['y', y.url]]) });
  for (const method of PROTO_NAMES) {
    const reply = await mcpFetch(gw.url, rpc(1, method));
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(errorOf(reply), { code: -32601, message: `Method not found: ${method} is not supported across several targets` });
  }
  const seen = x.requests.length + y.requests.length;
  for (const name of [...PROTO_NAMES, '__proto___x', 'constructor_x', 'nobody_constructor']) {
    for (const [method, kind, param] of [['tools/call', 'tool', 'name'], ['prompts/get', 'prompt', 'name'], ['resources/read', 'resource', 'uri']] as const) {
      const reply = await mcpFetch(gw.url, rpc(2, method, { [param]: name }));
      assert.deepEqual(errorOf(reply), { code: -32602, message: `Unknown ${kind}: ${name}` }, `${method} ${name}`);
    }
  }
  assert.equal(x.requests.length + y.requests.length, seen, 'no unknown name reached an upstream');

  for (const name of ['__proto__', 'constructor', 'toString']) {
    const call = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: `x_${name}`, arguments: {} }));
    assert.deepEqual(resultOf(call), {}, call.text);
    assert.deepEqual(lastBody(x)['params'], { name, arguments: {} });
    const read = await mcpFetch(gw.url, rpc(4, 'resources/read', { uri: `y+${name}` }));
    assert.deepEqual(resultOf(read), {}, read.text);
    assert.deepEqual(lastBody(y)['params'], { uri: name });
  }
  await stillServing(gw);
});

test('a rule that does not allow `__proto__` hides x___proto__ as it hides any tool', async (t) => {
  const x = await upstream(t);
  const y = await upstream(t);
  const gw = await startTestGateway(t, { configText: targetsYaml([['x', x.url], ['y', y.url]], { mcpAuthorization: { rules: ['mcp.tool.name == "echo"'] } }) });
  for (const name of ['x___proto__', 'x_constructor', 'y_toString']) {
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/call', { name, arguments: {} }));
    assert.deepEqual(errorOf(reply), { code: -32602, message: `Unknown tool: ${name}` });
  }
  assert.equal(x.requests.length + y.requests.length, 0);
  const allowed = await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'x_echo', arguments: {} }));
  assert.deepEqual(resultOf(allowed), {});
  await stillServing(gw);
});

test('a header named `constructor` is forwarded as sent and read by rules as sent', async (t) => {
  const up = await upstream(t);
  const gw = await startTestGateway(t, {
    configText: singleRouteYaml(up.url, { mcpAuthorization: { rules: ['request.headers["constructor"] == "v1" && !has(request.headers.toString)'] } }),
  });
  const allowed = await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'echo', arguments: {} }), { headers: { constructor: 'v1' } });
  assert.deepEqual(resultOf(allowed), {}, allowed.text);
  assert.equal(up.requests.at(-1)?.headers['constructor'], 'v1');
  const denied = await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'echo', arguments: {} }));
  assert.deepEqual(errorOf(denied), { code: -32602, message: 'Unknown tool: echo' });

  // `__proto__`: uWS drops a request with `_` in a field name unanswered; the node:http front
  // takes it, and then it is forwarded as any other field.
  const before = up.requests.length;
  const body = JSON.stringify(rpc(3, 'ping'));
  const raw = await rawExchange(
    gw.url,
    `POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\naccept: application/json\r\n__proto__: v2\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
  if (raw === '') assert.equal(up.requests.length, before, 'unanswered, and nothing relayed');
  else {
    assert.match(raw, /^HTTP\/1\.1 200 /);
    const sent: RecordedRequest | undefined = up.requests.at(-1);
    assert.ok(sent !== undefined && up.requests.length === before + 1, 'relayed');
    const at = sent.rawHeaders.indexOf('__proto__');
    assert.ok(at >= 0 && at % 2 === 0, `the field reached the upstream: ${JSON.stringify(sent.rawHeaders)}`);
    assert.equal(sent.rawHeaders[at + 1], 'v2');
  }
  await stillServing(gw);
});

test('a claim or a header named `constructor` leaves the rules reading them working: deny rules still deny', async (t) => {
  const keys = await labKeys(t);
  const up = await startGatedUpstream();
  t.after(() => up.close());
  const token = await keys.issuer.sign({
    iss: LAB_ISSUER,
    aud: LAB_AUDIENCE,
    exp: inSeconds(600),
    sub: 'jsmith',
    constructor: 'c',
    org: { constructor: 'o', team: 'red' },
    roles: ['dev', { constructor: 'r' }],
  });
  const rules = [
    'jwt.sub == "jsmith"',
    { deny: 'jwt.org.team == "red" && mcp.tool.name == "secret"' },
    { deny: '"x-tenant" in request.headers && request.headers["x-tenant"] == "evil"' },
  ];
  for (const workers of [0, 1]) {
    const gw = await startTestGateway(t, { cwd: keys.dir, configText: gatewayYaml({ upstreamUrl: up.url, rules }), workers });
    const list = await mcpFetch(gw.url, rpc(1, 'tools/list'), { token, headers: { constructor: 'h' } });
    assert.deepEqual(itemNames(resultOf(list), 'tools'), ['echo', 'add'], `workers ${workers}`);
    const secret = await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'secret', arguments: {} }), { token });
    assert.deepEqual(errorOf(secret), { code: -32602, message: 'Unknown tool: secret' });
    const evil = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'echo', arguments: {} }), { token, headers: { 'x-tenant': 'evil', constructor: 'h' } });
    assert.deepEqual(errorOf(evil), { code: -32602, message: 'Unknown tool: echo' });
    const echo = await mcpFetch(gw.url, rpc(4, 'tools/call', { name: 'echo', arguments: {} }), { token, headers: { constructor: 'h' } });
    assert.deepEqual(resultOf(echo), {}, echo.text);
    assert.doesNotMatch(await gw.gateway.metrics.render(), /^portcullis_cel_rule_errors_total [1-9]/m, 'no rule failed');
  }
});

test('a target named `constructor` that opened no session is sent none, beside one that did', async (t) => {
  const stateful = await upstream(t, { sessionId: 'session-of-a' });
  const stateless = await upstream(t);
  const gw = await startTestGateway(t, { configText: targetsYaml([['a', stateful.url], ['constructor', stateless.url]]) });
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const list = await mcpFetch(gw.url, rpc(2, 'tools/list'), { sessionId });
  assert.equal(list.status, 200, list.text);
  const call = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'constructor_echo', arguments: {} }), { sessionId });
  assert.deepEqual(resultOf(call), {}, call.text);
  assert.deepEqual(
    stateless.requests.map((r) => [r.rpcMethod, r.headers['mcp-session-id']]),
    [['initialize', undefined], ['notifications/initialized', undefined], ['tools/list', undefined], ['tools/call', undefined]],
  );
  assert.deepEqual(
    stateful.requests.map((r) => [r.rpcMethod, r.headers['mcp-session-id']]),
    [['initialize', undefined], ['notifications/initialized', 'session-of-a'], ['tools/list', 'session-of-a']],
  );
  await stillServing(gw);
});

test('resourceMetadata members named `__proto__` and `constructor` are served and dumped as written', async (t) => {
  const up = await upstream(t);
  const gw = await startTestGateway(t, {
    configText: singleRouteYaml(up.url, {
      mcpAuthentication: {
        issuer: 'https://idp.example.com',
        jwks: '{"keys": []}',
        resourceMetadata: { ['__proto__']: { polluted: true }, constructor: 'c', resourceName: 'r' },
      },
    }),
    adminAddr: '127.0.0.1:0',
  });
  const res = await fetch(`http://127.0.0.1:${gw.gateway.port}/.well-known/oauth-protected-resource/mcp`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  const doc: unknown = JSON.parse(await res.text());
  assert.ok(isRecord(doc));
  assert.ok(Object.hasOwn(doc, '__proto__'), `no __proto__ member in ${JSON.stringify(doc)}`);
  // biome-ignore lint/suspicious/noProto: reads the document's own member of that name, no accessor
  assert.deepEqual(doc['__proto__'], { polluted: true });
  assert.equal(doc['constructor'], 'c');
  assert.equal(doc['resource_name'], 'r');

  const dump = await fetch(`http://127.0.0.1:${gw.gateway.opsPorts.admin ?? 0}/config_dump`, { headers: { connection: 'close' } });
  const text = await dump.text();
  assert.match(text, /"__proto__": \{\s*"polluted": true\s*\}/);
  assert.match(text, /"constructor": "c"/);
});
