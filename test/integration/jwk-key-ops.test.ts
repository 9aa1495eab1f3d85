// A JWK's key_ops (RFC 7517 §4.3) is honoured: a key whose key_ops does not allow "verify"
// verifies no token (key_ops used to be dropped at load, so such a key verified tokens), while
// key_ops ["verify"] is a signing key like any other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LAB_AUDIENCE, LAB_ISSUER, startTestGateway } from '../helpers/gateway-harness.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

test('a key whose key_ops lacks "verify" verifies no token', async (t) => {
  const encryptOnly = await makeIssuer({ kid: 'encrypt-only' });
  const verifying = await makeIssuer({ kid: 'verifying' });
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const keys = [{ ...encryptOnly.publicJwk, key_ops: ['encrypt'] }, { ...verifying.publicJwk, key_ops: ['verify'] }];
  const { url } = await startTestGateway(t, {
    configText: singleRouteYaml(upstream.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: JSON.stringify({ keys }) },
    }),
  });
  const claims = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'alice', exp: inSeconds(600) };

  const refused = await mcpFetch(url, initializeRequest(), { token: await encryptOnly.sign(claims) });
  assert.equal(refused.status, 401, refused.text);
  assert.match(refused.text, /unknown key "encrypt-only"/);
  assert.equal(upstream.requests.length, 0);

  const accepted = await mcpFetch(url, initializeRequest(), { token: await verifying.sign(claims) });
  assert.equal(accepted.status, 200, accepted.text);
});
