// `mcpAuthentication`: the route as an OAuth protected resource (RFC 9728, MCP authorization
// spec). The issuer is a JWKS server's URL, its keys found by OpenID discovery. An
// unauthenticated MCP request gets 401 with `WWW-Authenticate: Bearer resource_metadata="…"`,
// the document it points to names the issuer and the scopes, the real MCP Inspector CLI sees the
// 401 without a token and lists the tools with one, and an HTTP `authorization` rule that
// denies answers 403 `error="insufficient_scope"`. Nothing refused reaches the upstream.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { runInspector } from '../helpers/inspector.js';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer, type Issuer } from '../helpers/keys.js';
import { initializeRequest, isRecord, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const AUDIENCE = 'https://mcp.example.com/';
const SCOPES = ['mcp:read', 'mcp:tools'];

const cleanup: Array<() => Promise<void>> = [];
const suite = { after: (fn: () => Promise<void>): void => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let idp: Issuer;
let jwks: JwksServer;
let upstream: RecordingProxy;
let gw: TestGateway;
let metadataUrl: string;

before(async () => {
  idp = await makeIssuer({ kid: 'idp-key' });
  jwks = await startJwksServer({ keys: idp.jwks.keys });
  suite.after(() => jwks.close());
  const echo = await startEchoServer({ mode: 'stateful' });
  suite.after(() => echo.close());
  upstream = await startRecordingProxy(echo.url);
  suite.after(() => upstream.close());
  gw = await startTestGateway(suite, {
    configText: singleRouteYaml(upstream.url, {
      // no `jwks`: the issuer is an http(s) URL, so its keys come from OpenID discovery
      mcpAuthentication: { issuer: jwks.url, audiences: [AUDIENCE], resourceMetadata: { scopesSupported: SCOPES } },
      // HTTP authorization: only alice may use this MCP server
      authorization: { rules: ['jwt.sub == "alice"'] },
    }),
  });
  metadataUrl = `http://127.0.0.1:${gw.gateway.port}/.well-known/oauth-protected-resource/mcp`;
  assert.equal(jwks.requestCount('/.well-known/openid-configuration'), 1, 'discovery at start');
  assert.equal(jwks.requestCount(), 1, 'the jwks_uri fetched at start');
});

const token = (sub: string): Promise<string> => idp.sign({ iss: jwks.url, aud: AUDIENCE, sub, iat: inSeconds(0), exp: inSeconds(600) });

test('an unauthenticated MCP request → 401 with resource_metadata pointing at the metadata, nothing upstream', async () => {
  const before = upstream.exchanges.length;
  const reply = await mcpFetch(gw.url, initializeRequest());
  assert.equal(reply.status, 401, reply.text);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer /);
  assert.ok(challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
  assert.ok(challenge.includes(`scope="${SCOPES.join(' ')}"`), challenge);
  assert.doesNotMatch(challenge, /error=/, 'RFC 6750 §3.1: no error code when no credentials were sent');
  assert.equal(upstream.exchanges.length, before);
});

test('an invalid token → 401 invalid_token, also with resource_metadata', async () => {
  const before = upstream.exchanges.length;
  const forged = await (await makeIssuer({ kid: 'idp-key' })).sign({ iss: jwks.url, aud: AUDIENCE, sub: 'alice', exp: inSeconds(600) });
  const reply = await mcpFetch(gw.url, initializeRequest(), { token: forged });
  assert.equal(reply.status, 401, reply.text);
  assert.match(reply.text, /^authentication failure: signature does not verify/);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /error="invalid_token"/);
  assert.ok(challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
  assert.equal(upstream.exchanges.length, before);
});

test('GET the resource_metadata URL → 200 RFC 9728 document naming the issuer and the scopes', async () => {
  const res = await fetch(metadataUrl, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const doc: unknown = await res.json();
  assert.ok(isRecord(doc));
  assert.equal(doc['resource'], `http://127.0.0.1:${gw.gateway.port}/mcp`);
  assert.deepEqual(doc['authorization_servers'], [jwks.url]);
  assert.deepEqual(doc['scopes_supported'], SCOPES);
  assert.deepEqual(doc['bearer_methods_supported'], ['header']);
});

test('MCP Inspector CLI: without a token it fails with the 401; with a valid token it lists the tools', async (t) => {
  // The inspector prints the body of a refused POST, not its status: a recording proxy between
  // the inspector and the gateway shows the status it received. Both runs at once (~4 s each).
  const front = await startRecordingProxy(gw.url);
  t.after(() => front.close());
  const [refused, listed] = await Promise.all([
    runInspector(front.url, ['--method', 'tools/list']),
    token('alice').then((tok) => runInspector(gw.url, ['--method', 'tools/list'], { token: tok })),
  ]);

  assert.notEqual(refused.code, 0, `inspector exited 0 without a token:\n${refused.stdout}`);
  assert.match(refused.stderr, /Failed to connect to MCP server: Streamable HTTP error: Error POSTing to endpoint: authentication failure: no bearer token found/, refused.stderr);
  assert.deepEqual(front.exchanges.map((e) => [e.method, e.rpcMethod, e.status]), [['POST', 'initialize', 401]]);

  assert.equal(listed.code, 0, listed.stderr);
  const out: unknown = JSON.parse(listed.stdout);
  assert.ok(isRecord(out) && Array.isArray(out['tools']), listed.stdout);
  const tools: readonly unknown[] = out['tools'];
  assert.deepEqual(tools.map((tool) => (isRecord(tool) ? tool['name'] : undefined)), ['echo', 'add']);
  assert.ok(upstream.exchanges.some((e) => e.rpcMethod === 'tools/list'));
  assert.ok(upstream.exchanges.every((e) => e.requestHeaders['authorization'] === undefined), 'the token is not forwarded');
});

test('a valid token the HTTP authorization policy denies → 403 insufficient_scope, nothing upstream', async () => {
  const before = upstream.exchanges.length;
  const reply = await mcpFetch(gw.url, initializeRequest(), { token: await token('mallory') });
  assert.equal(reply.status, 403, reply.text);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer .*error="insufficient_scope"/);
  assert.ok(challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
  assert.equal(upstream.exchanges.length, before);
  await gw.log.waitFor(/http\.status=403.*error="authorization failed"|error="authorization failed".*http\.status=403/);
});
