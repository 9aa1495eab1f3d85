// A cached verified token follows the exact key that verified it. When the IdP's JWKS changes,
// its tokens leave the cache if their key (issuer, kid, key material) left that IdP's set, even
// when another provider publishes a key under the same kid, or the IdP reuses the kid for a new
// key. The rotation is picked up by a token naming an unknown kid (refetch, no cooldown).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer, type Issuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

const IDP = 'https://idp.example.com';
const PARTNER = 'https://partner.example.com';

function route(prefix: string, upstreamUrl: string, jwtAuth: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    matches: [{ path: { pathPrefix: prefix } }],
    policies: { jwtAuth: { mode: 'strict', audiences: [LAB_AUDIENCE], ...jwtAuth } },
    backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstreamUrl } }] } }],
  };
}

const claims = (iss: string, sub: string): Record<string, unknown> => ({ iss, aud: LAB_AUDIENCE, sub, exp: inSeconds(600) });

async function setUp(t: test.TestContext, idpKeys: readonly Issuer[], partner: Issuer) {
  const jwks = await startJwksServer({ keys: idpKeys.map((k) => k.publicJwk) });
  t.after(() => jwks.close());
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configText = stringify({
    binds: [{
      port: 0,
      listeners: [{
        routes: [
          route('/idp', upstream.url, { issuer: IDP, jwks: { url: jwks.jwksUrl } }),
          route('/partner', upstream.url, { issuer: PARTNER, jwks: JSON.stringify(partner.jwks) }),
        ],
      }],
    }],
  });
  const { gateway } = await startTestGateway(t, { configText, jwksCooldownMs: 0 });
  const status = async (path: string, token: string): Promise<number> =>
    (await mcpFetch(`http://127.0.0.1:${gateway.port}${path}/mcp`, initializeRequest(), { token })).status;
  return { jwks, status, cacheHits: () => gateway.metrics.tokenCache.hits };
}

test('a token whose key left the IdP is no longer served from the cache, though another provider has a key of the same kid', async (t) => {
  const idpOld = await makeIssuer({ kid: '1' });
  const idpNew = await makeIssuer({ kid: '2' });
  const partner = await makeIssuer({ kid: '1' });
  const { jwks, status, cacheHits } = await setUp(t, [idpOld], partner);

  const old = await idpOld.sign(claims(IDP, 'alice'));
  // verified twice (a token is cached at its second verification), then served from the cache
  assert.equal(await status('/idp', old), 200);
  assert.equal(await status('/idp', old), 200);
  const hits = cacheHits();
  assert.equal(await status('/idp', old), 200);
  assert.equal(cacheHits(), hits + 1, 'the token is cached');
  assert.equal(await status('/partner', await partner.sign(claims(PARTNER, 'bob'))), 200);

  // The IdP withdraws key 1; a token of its new key makes the gateway refetch and rekey.
  jwks.setKeys([idpNew.publicJwk]);
  assert.equal(await status('/idp', await idpNew.sign(claims(IDP, 'carol'))), 200);
  assert.equal(await status('/idp', old), 401, 'the withdrawn key’s cached token');
  assert.equal(await status('/idp', await idpOld.sign(claims(IDP, 'dave'))), 401, 'a fresh token of the withdrawn key');
  assert.equal(await status('/partner', await partner.sign(claims(PARTNER, 'erin'))), 200, 'the partner’s kid 1 is unaffected');
});

test('a token whose kid the IdP reused for a new key is no longer served from the cache', async (t) => {
  const first = await makeIssuer({ kid: '1' });
  const reissued = await makeIssuer({ kid: '1' });
  const stranger = await makeIssuer({ kid: 'unknown' });
  const partner = await makeIssuer({ kid: 'p' });
  const { jwks, status, cacheHits } = await setUp(t, [first], partner);

  const old = await first.sign(claims(IDP, 'alice'));
  // verified twice (a token is cached at its second verification), then served from the cache
  assert.equal(await status('/idp', old), 200);
  assert.equal(await status('/idp', old), 200);
  const hits = cacheHits();
  assert.equal(await status('/idp', old), 200);
  assert.equal(cacheHits(), hits + 1, 'the token is cached');

  // Same kid, new key material; an unknown kid makes the gateway refetch and rekey.
  jwks.setKeys([reissued.publicJwk]);
  const refetches = jwks.requestCount();
  assert.equal(await status('/idp', await stranger.sign(claims(IDP, 'mallory'))), 401);
  assert.equal(jwks.requestCount(), refetches + 1, 'the unknown kid made the gateway refetch');
  assert.equal(await status('/idp', old), 401, 'the old key’s cached token');
  assert.equal(await status('/idp', await reissued.sign(claims(IDP, 'bob'))), 200, 'the new key’s token');
});
