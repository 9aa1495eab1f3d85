// Credentials in the URLs a config names for keys. A user name or password in a JWKS URL or a
// discovery issuer is refused at load, naming the path and not the password: the HTTP client
// would drop it (agentgateway's too), so the config would hold a credential that is never sent.
// A key in the query is sent (the JWKS server below requires one), and never written down: not
// in the refresh-failure log line, not in its error text, not in /config_dump, not in /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, startGateway } from '../../src/main/gateway.js';
import { LAB_AUDIENCE, LAB_ISSUER, LogCapture, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { DEFAULT_JWKS_COOLDOWN_MS, fakeMonotonicClock } from '../helpers/monotonic-clock.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const ROUTE = 'binds[0].listeners[0].routes[0].policies';
const PASSWORD = 'pa55w0rd-in-url';
const API_KEY = 'k3y-in-query-0123';

async function opsText(port: number | null, path: string): Promise<string> {
  assert.ok(port !== null);
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  return res.text();
}

test('a user name or password in a JWKS or discovery URL is refused at load, naming the path, not the password', async (t) => {
  // The server would answer without credentials: the refusal is about the config, not the server.
  const jwks = await startJwksServer();
  t.after(() => jwks.close());
  const withUser = (url: string): string => url.replace('http://', `http://ops:${PASSWORD}@`);
  const cases = [
    {
      policies: { jwtAuth: { issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: withUser(jwks.jwksUrl) } } },
      path: `${ROUTE}.jwtAuth.jwks.url`,
    },
    { policies: { jwtAuth: { issuer: withUser(jwks.url), audiences: [LAB_AUDIENCE] } }, path: `${ROUTE}.jwtAuth.issuer` },
    {
      policies: { jwtAuth: { issuer: withUser(jwks.url), audiences: [LAB_AUDIENCE], jwks: { discovery: true } } },
      path: `${ROUTE}.jwtAuth.jwks.discovery`,
    },
    {
      policies: { mcpAuthentication: { issuer: LAB_ISSUER, audience: LAB_AUDIENCE, jwksUrl: withUser(jwks.jwksUrl), resourceMetadata: {} } },
      path: `${ROUTE}.mcpAuthentication.jwksUrl`,
    },
  ];
  for (const c of cases) {
    const log = new LogCapture();
    const start = startGateway({ configText: singleRouteYaml('http://127.0.0.1:9/mcp', c.policies), workers: 0, adminAddr: null, statsAddr: null, readinessAddr: null, logSink: log });
    // A gateway that starts all the same is closed, not left running.
    const err = await start.then(async (gw) => gw.close({ drainMs: 0 }), (e: unknown) => e);
    assert.ok(err instanceof ConfigError, `${c.path}: not refused (${String(err)})`);
    assert.ok(err.message.includes(`${c.path}: `), err.message);
    assert.match(err.message, /user name or password in this URL would not be sent/);
    assert.ok(!err.message.includes(PASSWORD), err.message);
    for (const line of log.lines) assert.ok(!line.includes(PASSWORD), line);
  }
  assert.equal(jwks.requestCount(), 0, 'nothing fetched');
  assert.equal(jwks.requestCount('/.well-known/openid-configuration'), 0, 'nothing fetched');
});

test('a key in a JWKS URL query is sent, and a failed refresh logs the URL without it', async (t) => {
  const clock = fakeMonotonicClock(t);
  const issuer = await makeIssuer({ kid: 'k1' });
  const jwks = await startJwksServer({ keys: issuer.jwks.keys, requireQuery: `api_key=${API_KEY}` });
  t.after(() => jwks.close());
  jwks.failWith(503); // down at start: the startup fetch fails and is logged
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    adminAddr: '127.0.0.1:0',
    statsAddr: '127.0.0.1:0',
    configText: singleRouteYaml(up.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: `${jwks.jwksUrl}?api_key=${API_KEY}` } },
    }),
  });
  const warned = await gw.log.waitFor(/JWKS refresh failed/);
  const shown = `${jwks.jwksUrl}?api_key=%3Credacted%3E`;
  assert.ok(warned.includes(`url=${shown}`), warned);
  assert.ok(warned.includes(`GET ${shown} answered 503`), warned);

  // Back up: the refetch a token with the key's kid causes carries the key (the server wants it).
  jwks.failWith(null);
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const token = await issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'alice', iat: inSeconds(0), exp: inSeconds(600) });
  const reply = await mcpFetch(gw.url, initializeRequest(), { token });
  assert.equal(reply.status, 200, reply.text);
  const dump = await opsText(gw.gateway.opsPorts.admin, '/config_dump');
  assert.ok(dump.includes(JSON.stringify(shown)), `config_dump shows the parameter, not its value: ${dump}`);
  const metrics = await opsText(gw.gateway.opsPorts.stats, '/metrics');
  for (const text of [...gw.log.lines, dump, metrics]) assert.ok(!text.includes(API_KEY), `the key in: ${text}`);
});

test('a key in the jwks_uri that OpenID discovery finds is sent, and not logged when a refresh fails', async (t) => {
  const clock = fakeMonotonicClock(t);
  const issuer = await makeIssuer({ kid: 'k1' });
  const other = await makeIssuer({ kid: 'k2' });
  const jwks = await startJwksServer({ keys: issuer.jwks.keys, requireQuery: `api_key=${API_KEY}` });
  t.after(() => jwks.close());
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    statsAddr: '127.0.0.1:0',
    configText: singleRouteYaml(up.url, { jwtAuth: { mode: 'strict', issuer: jwks.url, audiences: [LAB_AUDIENCE] } }),
  });
  const claims = { iss: jwks.url, aud: LAB_AUDIENCE, sub: 'alice', iat: inSeconds(0), exp: inSeconds(600) };
  const reply = await mcpFetch(gw.url, initializeRequest(), { token: await issuer.sign(claims) });
  assert.equal(reply.status, 200, `keys found through discovery, fetched with the key: ${reply.text}`);
  jwks.failWith(503);
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const from = gw.log.lines.length;
  // An unknown kid makes the gateway refetch the discovered jwks_uri, which now fails.
  assert.equal((await mcpFetch(gw.url, initializeRequest(), { token: await other.sign(claims) })).status, 401);
  const warned = await gw.log.waitFor(/JWKS refresh failed/, { fromLine: from });
  assert.ok(warned.includes(`GET ${jwks.jwksUrl}?api_key=%3Credacted%3E answered 503`), warned);
  const metrics = await opsText(gw.gateway.opsPorts.stats, '/metrics');
  for (const text of [...gw.log.lines, metrics]) assert.ok(!text.includes(API_KEY), `the key in: ${text}`);
});
