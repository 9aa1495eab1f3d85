// config.logging on a running gateway: tokens never reach the access log whatever the fields ask
// for; the filter keeps the lines it is true for; an expression that fails leaves its field (or,
// for the filter, its line) out and is counted; JSON lines carry added fields as JSON values;
// `level` turns the access log off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, labKeys, startTestGateway, type LabKeys, type TestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch, rpc } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

async function gatewayWith(t: test.TestContext, keys: LabKeys, logging: Record<string, unknown>, mode = 'strict'): Promise<TestGateway> {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const policies = { jwtAuth: { mode, issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { file: './jwks-keyset' } } };
  const configText = stringify({
    config: { logging },
    binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: up.url } }] } }] }] }] }],
  });
  return startTestGateway(t, { cwd: keys.dir, configText });
}

test('no token reaches the access log, whatever config.logging asks for', async (t) => {
  const keys = await labKeys(t);
  const gw = await gatewayWith(t, keys, {
    fields: {
      add: {
        auth: 'request.headers.authorization',
        custom: 'request.headers["x-custom"]',
        apikey: 'request.headers["x-api-key"]',
        cookie: 'request.headers.cookie',
        headers: 'request.headers',
        joined: 'request.headers["x-part-a"] + request.headers["x-part-b"]',
        path: 'request.pathAndQuery',
        secret_note: '"not a secret, but named like one"',
        who: 'jwt.sub',
      },
    },
  });
  const other = keys.jsmith;
  const [head, payload, signature] = other.split('.');
  assert.ok(head !== undefined && payload !== undefined && signature !== undefined);
  const reply = await mcpFetch(`${gw.url}?access_token=${other}&q=1`, initializeRequest(), {
    token: keys.admin,
    headers: { 'x-custom': other, 'x-api-key': 'k-0123456789', cookie: 'sid=s3ss10n', 'x-part-a': `${head}.${payload}`, 'x-part-b': `.${signature}` },
  });
  assert.equal(reply.status, 200);
  const line = await gw.log.waitFor(/\trequest .*who=pointy-haired-boss/);
  // The caller's token (its signature alone included), the other token whole (the headers map
  // shows its two halves, each of which is no credential), the key and the cookie.
  const [, , adminSignature = ''] = keys.admin.split('.');
  for (const secret of [keys.admin, adminSignature, other, `${payload}.${signature}`, 'k-0123456789', 's3ss10n']) {
    assert.ok(!line.includes(secret), `the line holds ${secret.slice(0, 12)}…: ${line}`);
  }
  for (const field of ['auth', 'custom', 'apikey', 'cookie', 'joined', 'secret_note']) assert.ok(line.includes(` ${field}=<redacted>`), `${field}: ${line}`);
  assert.match(line, / path=\/mcp\?access_token=<redacted>&q=1 /);
  assert.match(line, / headers="\{.*\\"authorization\\":\\"<redacted>\\".*\}"/);
  assert.match(line, / who=pointy-haired-boss$/);
});

test('the filter keeps the lines it is true for; failures leave a field or line out and are counted', async (t) => {
  const keys = await labKeys(t);
  const gw = await gatewayWith(
    t,
    keys,
    { filter: 'response.code >= 400 || jwt.sub == "jsmith"', fields: { remove: ['src.addr', 'http.host'], add: { role: 'jwt.roles[0]', 'http.status': 'string(response.code) + "!"' } } },
    'optional',
  );
  await mcpFetch(gw.url, rpc(1, 'ping'), { token: keys.admin }); // 200, not jsmith: not logged
  await mcpFetch(gw.url, rpc(2, 'ping'), { token: keys.jsmith }); // logged; jsmith has no roles
  await mcpFetch(gw.url, rpc(3, 'ping')); // no token, no claims: the filter fails, so no line
  await mcpFetch(gw.url, rpc(4, 'ping'), { token: 'not-a-token' }); // 401: logged, no claims
  const lines = gw.log.accessLines();
  assert.equal(lines.length, 2, lines.join('\n'));
  const [jsmith, refused] = lines;
  assert.match(jsmith ?? '', /\trequest gateway=bind\/\d+ listener=listener0 route_rule=route0\/default route=route0 http\.method=POST http\.path=\/mcp http\.version=HTTP\/1\.1 jwt\.sub=jsmith protocol=mcp mcp\.method=ping duration=\d+ms http\.status=200!$/);
  assert.match(refused ?? '', / http\.version=HTTP\/1\.1 protocol=http error="authentication failure: [^"]+" duration=\d+ms http\.status=401!$/);
  const metrics = await gw.gateway.metrics.render();
  assert.match(metrics, /^portcullis_access_log_cel_errors_total\{field="filter"\} 1$/m);
  // jsmith (no roles) and the refused request (no claims)
  assert.match(metrics, /^portcullis_access_log_cel_errors_total\{field="role"\} 2$/m);
});

test('JSON lines carry added fields as JSON values; level request=off writes no access line', async (t) => {
  const keys = await labKeys(t);
  const json = await gatewayWith(t, keys, { format: 'json', fields: { remove: ['src.addr'], add: { status: 'response.code', roles: 'jwt.roles', claims: '{"sub": jwt.sub, "iss": jwt.iss}' } } });
  await mcpFetch(json.url, rpc(1, 'ping'), { token: keys.admin });
  const line = await json.log.waitFor(/"scope":"request"/);
  const o: unknown = JSON.parse(line);
  assert.ok(typeof o === 'object' && o !== null);
  assert.deepEqual(
    { status: Reflect.get(o, 'status'), roles: Reflect.get(o, 'roles'), claims: Reflect.get(o, 'claims'), src: Reflect.get(o, 'src.addr'), sub: Reflect.get(o, 'jwt.sub') },
    { status: 200, roles: ['admin'], claims: { sub: 'pointy-haired-boss', iss: LAB_ISSUER }, src: undefined, sub: 'pointy-haired-boss' },
  );

  const quiet = await gatewayWith(t, keys, { level: ['info', 'request=off'] });
  await mcpFetch(quiet.url, rpc(1, 'ping'), { token: keys.admin });
  await quiet.gateway.close();
  assert.deepEqual(quiet.log.accessLines(), []);
  assert.ok(quiet.log.lines.some((l) => l.includes('started bind')), 'other info lines are written');
});
