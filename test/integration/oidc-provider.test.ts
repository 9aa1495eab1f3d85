// oidc-provider (a certified OpenID Provider) as the enterprise IdP, in-process. It issues RFC 9068
// `at+jwt` access tokens (client_credentials + resource indicator, ES256); the gateway knows
// only the provider's issuer URL and the audience, and finds the keys by OpenID discovery.
// Then the provider rotates its signing key: tokens of the new key are accepted within one
// request (the unknown kid makes the gateway refetch), and once the old key has left the
// provider's JWKS and the gateway has refetched it, tokens of the old key are refused —
// including ones the gateway had already verified and cached.
//
// Time: the unknown-kid refetch is debounced (10 s, KeyRegistryOptions.cooldownMs, not settable
// through GatewayOptions) and the debounce counts the startup fetch too. The test moves
// performance.now() — the clock the debounce reads — forward instead of sleeping
// (helpers/monotonic-clock.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { makeIssuer } from '../helpers/keys.js';
import { mcpFetch, openMcpSession, resultOf, rpc } from '../helpers/mcp-http.js';
import { DEFAULT_JWKS_COOLDOWN_MS, fakeMonotonicClock } from '../helpers/monotonic-clock.js';
import { makeIdpSigningKey, peekJwt, startOidcIdp } from '../helpers/oidc-idp.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const RESOURCE = 'https://mcp.example.com/';
const DISCOVERY = '/.well-known/openid-configuration';

test('oidc-provider at+jwt access tokens through discovery, and a signing-key rotation without restart', async (t) => {
  const clock = fakeMonotonicClock(t);
  const oldKey = await makeIdpSigningKey('idp-key-2025');
  const newKey = await makeIdpSigningKey('idp-key-2026');
  const idp = await startOidcIdp({ keys: [oldKey], resource: RESOURCE });
  t.after(() => idp.close());
  const echo = await startEchoServer({ mode: 'stateful' });
  t.after(() => echo.close());
  const { gateway, url, log } = await startTestGateway(t, {
    // Only the issuer: no jwks (discovery), as an enterprise would configure its IdP.
    configText: singleRouteYaml(echo.url, { jwtAuth: { mode: 'strict', issuer: idp.issuer, audiences: [RESOURCE] } }),
  });
  const metric = (outcome: string): number => gateway.metrics.jwt.get({ outcome });

  /** initialize (the first request carrying the token) must pass; then the echo tool is called. */
  const callEcho = async (token: string, message: string): Promise<void> => {
    const { sessionId } = await openMcpSession(url, { token });
    const reply = await mcpFetch(url, rpc(2, 'tools/call', { name: 'echo', arguments: { message } }), {
      token,
      ...(sessionId === undefined ? {} : { sessionId }),
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(resultOf(reply)['content'], [{ type: 'text', text: `Echo: ${message}` }]);
  };
  const initialize = (token: string) => mcpFetch(url, rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } }), { token });

  // Discovery happened once at start: the configuration document, then its jwks_uri.
  assert.equal(idp.requestCount(DISCOVERY), 1);
  assert.equal(idp.requestCount('/jwks'), 1);

  // 1. An RFC 9068 access token from the provider is accepted.
  const token1 = await idp.issueAccessToken();
  const { header, payload } = peekJwt(token1);
  assert.deepEqual(header, { alg: 'ES256', typ: 'at+jwt', kid: oldKey.kid });
  assert.equal(payload['iss'], idp.issuer);
  assert.equal(payload['aud'], RESOURCE);
  assert.equal(payload['client_id'], idp.clientId);
  await callEcho(token1, 'hello from the IdP');
  // Tokens of the old key the gateway has not seen yet, kept for after the rotation.
  const oldUnseen1 = await idp.issueAccessToken();
  const oldUnseen2 = await idp.issueAccessToken();
  assert.equal(peekJwt(oldUnseen2).header['kid'], oldKey.kid);

  // 2. Rotation, step one: the provider publishes [new, old] and signs with the new key.
  idp.setSigningKeys([newKey, oldKey]);
  const token2 = await idp.issueAccessToken();
  assert.equal(peekJwt(token2).header['kid'], newKey.kid);
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000); // the startup fetch was less than 10 s ago
  const jwksFetches = idp.requestCount('/jwks');
  const unknownKid = metric('unknown_kid');
  const first = await initialize(token2);
  assert.equal(first.status, 200, `the first request with the new key's token: ${first.text}`);
  assert.equal(idp.requestCount('/jwks'), jwksFetches + 1, 'the unknown kid made exactly one refetch');
  assert.equal(idp.requestCount(DISCOVERY), 1, 'the jwks_uri from discovery is reused');
  assert.equal(metric('unknown_kid'), unknownKid, 'the refetch was invisible to the client');
  await log.waitFor(/key set changed/);
  await callEcho(token2, 'signed by the new key');
  await callEcho(token1, 'the old key is still published');

  // 3. Rotation, step two: the old key leaves the provider's JWKS.
  idp.setSigningKeys([newKey]);
  const jwks = (await (await fetch(`${idp.issuer}/jwks`, { headers: { connection: 'close' } })).json()) as { keys: Array<{ kid: string }> };
  assert.deepEqual(jwks.keys.map((k) => k.kid), [newKey.kid]);
  // The gateway has not looked since: the provider sends no Cache-Control, so the set is
  // refreshed on the 15 min default TTL or on the next unknown kid. Until then the old kid is a
  // known key and its tokens still verify.
  const beforeRefresh = await initialize(oldUnseen1);
  assert.equal(beforeRefresh.status, 200, `old key, before the gateway refetched: ${beforeRefresh.text}`);

  // Any unknown kid after the cooldown refetches the set (here a token from a key the provider
  // never published: refused, as it must be).
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const stranger = await makeIssuer({ kid: 'not-published' });
  const strangerToken = await stranger.sign({ iss: idp.issuer, aud: RESOURCE, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
  const fetches = idp.requestCount('/jwks');
  const strangerReply = await initialize(strangerToken);
  assert.equal(strangerReply.status, 401);
  assert.match(strangerReply.text, /^authentication failure: unknown key "not-published"$/);
  assert.equal(idp.requestCount('/jwks'), fetches + 1);
  await log.waitFor(/key set changed.*keys=1/);

  // Now the old key is gone: an unseen old-key token, and the ones verified (and cached) before.
  for (const [what, token] of [
    ['an old-key token never presented before', oldUnseen2],
    ['an old-key token verified before the rotation (dropped from the token cache)', token1],
    ['an old-key token verified while the old key was still known', oldUnseen1],
  ] as const) {
    const reply = await initialize(token);
    assert.equal(reply.status, 401, `${what}: ${reply.text}`);
    assert.match(reply.text, new RegExp(`^authentication failure: unknown key "${oldKey.kid}"`), what);
    assert.match(reply.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  }
  // The new key's tokens are unaffected.
  await callEcho(token2, 'still fine');
  await callEcho(await idp.issueAccessToken(), 'a fresh token');
});

// agentgateway re-fetches remote JWKS on a config reload (reference/agentgateway-behaviour.md
// §1.10), which is how an operator makes a retired key stop working at once.
test(
  "a config reload refetches the provider's JWKS: a retired key is refused at once",
  async (t) => {
    const oldKey = await makeIdpSigningKey('idp-key-old');
    const newKey = await makeIdpSigningKey('idp-key-new');
    const idp = await startOidcIdp({ keys: [oldKey], resource: RESOURCE });
    t.after(() => idp.close());
    const echo = await startEchoServer({ mode: 'stateless-json' });
    t.after(() => echo.close());
    const { gateway, url } = await startTestGateway(t, {
      configText: singleRouteYaml(echo.url, { jwtAuth: { mode: 'strict', issuer: idp.issuer, audiences: [RESOURCE] } }),
    });
    const initialize = (token: string) => mcpFetch(url, rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } }), { token });
    const oldToken = await idp.issueAccessToken();
    assert.equal((await initialize(oldToken)).status, 200);

    idp.setSigningKeys([newKey]); // the old key is retired in one step (e.g. after a compromise)
    const fetches = idp.requestCount('/jwks');
    assert.deepEqual(await gateway.reload(), { ok: true });
    const reply = await initialize(oldToken);
    assert.equal(idp.requestCount('/jwks'), fetches + 1, 'reload() did not fetch the JWKS again');
    assert.equal(reply.status, 401, `a token of the retired key after reload(): ${reply.status} ${reply.text}`);
    assert.match(reply.text, new RegExp(`unknown key "${oldKey.kid}"`));
    // and a token of the new key is accepted right away, without an unknown-kid refetch
    assert.equal((await initialize(await idp.issueAccessToken())).status, 200);
  },
);
