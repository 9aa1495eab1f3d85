// How a token exchange fails, against a real authorization server made to misbehave: down, slow,
// refusing, answering garbage or without end. Each failure is the status and text agentgateway
// gives (400 `invalid request`, 500 `backend authentication failed: ...`), no token or secret
// is in any message or log detail, and nothing is granted in its place.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import type { CredentialRefusal } from '../../src/main/upstream-auth/credential.js';
import { type UserIdp, assertNoSecrets, credentialFor, expectGranted, expectRefused, sourceFromYaml, startUserIdp, verifiedCaller } from '../helpers/exchange-fixtures.js';
import { type Answer, TT_JWT, type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';

const AUD = 'https://crm.example.com/mcp';

describe('token exchange failures', () => {
  let user: UserIdp;
  let idp: TokenIdp;
  let subject: string;
  before(async () => {
    user = await startUserIdp();
    idp = await startTokenIdp({ trust: [user.trust] });
    subject = await user.token('alice');
  });
  after(() => idp.close());
  beforeEach(() => idp.answerWith(null));

  const yaml = (extra = '', secret = idp.clients.basic.clientSecret) =>
    `oauthTokenExchange:\n  host: "${idp.issuer}"\n  path: /token\n  audiences: ["${AUD}"]\n` +
    `  clientAuth: {clientId: "${idp.clients.basic.clientId}", clientSecret: "${secret}"}\n${extra}`;
  const secrets = () => [subject, idp.clients.basic.clientSecret, 'leaked-access-token-value'];

  /** The refusal for one call with the IdP answering `answer` (cache off, so nothing is kept). */
  const refusedWith = async (answer: Answer | null, extra = '  cache: {maxEntries: 0}'): Promise<CredentialRefusal> => {
    idp.answerWith(answer);
    const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml(extra)), verifiedCaller(subject)));
    assertNoSecrets(refusal, secrets());
    return refusal;
  };

  it('4xx other than 401/403: the caller brought something wrong: 400 invalid request', async () => {
    for (const status of [400, 404, 422, 429]) {
      const r = await refusedWith({ status, json: { error: 'invalid_grant', error_description: `subject ${subject} rejected` } });
      assert.deepEqual([r.status, r.message, r.outcome], [400, 'invalid request', 'endpoint_rejected'], String(status));
      // The log detail says what the IdP said, with the token it echoed taken out.
      assert.match(r.detail, /invalid_grant.*subject <redacted> rejected/);
    }
  });

  it('an error answer echoing the request has every credential of it taken out of the log detail', async () => {
    const post = idp.clients.post;
    const source = sourceFromYaml(
      `oauthTokenExchange:\n  host: "${idp.issuer}"\n  path: /token\n  audiences: ["${AUD}"]\n  clientAuth: {method: clientSecretPost, clientId: ${post.clientId}, clientSecret: "${post.clientSecret}"}`,
    );
    idp.answerWith({ status: 400, text: `bad request: subject_token=${subject}&client_secret=${post.clientSecret}` });
    const refusal = expectRefused(await credentialFor(source, verifiedCaller(subject)));
    assertNoSecrets(refusal, [subject, post.clientSecret]);
    assert.match(refusal.detail, /subject_token=<redacted>&client_secret=<redacted>/);
  });

  it('401, 403, 5xx: the gateway side: 500 backend authentication failed', async () => {
    for (const [status, text] of [
      [401, '401 Unauthorized'],
      [403, '403 Forbidden'],
      [500, '500 Internal Server Error'],
      [503, '503 Service Unavailable'],
    ] as const) {
      const r = await refusedWith({ status, json: { error: 'server_error' } });
      assert.deepEqual([r.status, r.message, r.outcome], [500, `backend authentication failed: token exchange returned status ${text}`, 'endpoint_error']);
    }
  });

  it('the real server refusing the client (a wrong secret): its 401 invalid_client is a 500', async () => {
    const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml('', 'wrong-secret')), verifiedCaller(subject)));
    assert.deepEqual([refusal.status, refusal.message], [500, 'backend authentication failed: token exchange returned status 401 Unauthorized']);
    assert.match(refusal.detail, /invalid_client/);
    assertNoSecrets(refusal, [...secrets(), 'wrong-secret']);
  });

  it('answers that are not a usable token: 500, naming what is wrong', async () => {
    const leaked = 'leaked-access-token-value';
    const cases: Array<[Answer, string]> = [
      [{ status: 200, text: `<html>${leaked}</html>`, contentType: 'text/html' }, 'token exchange response decode failed'],
      [{ status: 200, json: [leaked] }, 'token exchange response decode failed'],
      [{ status: 200, json: { token_type: 'Bearer' } }, 'token exchange response decode failed'],
      [{ status: 200, json: { access_token: 42, token_type: 'Bearer' } }, 'token exchange response decode failed'],
      [{ status: 200, json: { access_token: leaked, token_type: 'Bearer', expires_in: '3600' } }, 'token exchange response decode failed'],
      [{ status: 200, json: { access_token: leaked, token_type: 'Bearer', expires_in: -1 } }, 'token exchange response decode failed'],
      [{ status: 200, json: { access_token: leaked } }, 'token exchange response missing token_type'],
      [{ status: 200, json: { access_token: leaked, token_type: 'DPoP' } }, 'token exchange returned unsupported token_type'],
      [{ status: 200, json: { access_token: leaked, token_type: 'N_A' } }, 'token exchange returned unsupported token_type'],
      [{ status: 200, json: { access_token: '', token_type: 'Bearer' } }, 'token exchange response contained an empty access_token'],
      [{ status: 200, json: { access_token: `${leaked}\r\nx-injected: 1`, token_type: 'Bearer' } }, 'token exchange response contained an access_token that cannot be sent'],
      [{ status: 204, text: '' }, 'token exchange response decode failed'],
      [{ status: 302, text: '' }, 'token exchange returned status 302 Found'],
    ];
    for (const [answer, reason] of cases) {
      const r = await refusedWith(answer);
      assert.deepEqual([r.status, r.message], [500, `backend authentication failed: ${reason}`], JSON.stringify(answer));
      assert.ok(!r.detail.includes(leaked), r.detail);
    }
  });

  it('a token bound for a cookie must not end the Cookie header', async () => {
    const r = await refusedWith(
      { status: 200, json: { access_token: 'abc;admin=1', token_type: 'Bearer' } },
      '  authorizationLocation: {cookie: {name: upstream_session}}\n  cache: {maxEntries: 0}',
    );
    assert.deepEqual([r.status, r.message], [500, 'backend authentication failed: token exchange response contained an access_token that cannot be sent']);
  });

  it('issued_token_type: checked only when a type was requested, and must be that type', async () => {
    const requested = `  requestedTokenType: ${TT_JWT}\n  cache: {maxEntries: 0}`;
    const other = await refusedWith({ status: 200, json: { access_token: 'x', token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' } }, requested);
    assert.equal(other.message, 'backend authentication failed: token exchange returned an issued_token_type other than the one requested');
    assert.match(other.detail, /issued_token_type "urn:ietf:params:oauth:token-type:access_token", expected urn:ietf:params:oauth:token-type:jwt/);
    const unusable = await refusedWith({ status: 200, json: { access_token: 'x', token_type: 'Bearer', issued_token_type: 'jwt' } }, requested);
    assert.equal(unusable.message, 'backend authentication failed: token exchange returned unusable issued_token_type');
    idp.answerWith({ status: 200, json: { access_token: 'x', token_type: 'bearer', issued_token_type: 'anything' } });
    expectGranted(await credentialFor(sourceFromYaml(yaml('  cache: {maxEntries: 0}')), verifiedCaller(subject)));
  });

  it('down (port closed): 500, connection refused; up again: served', async (t) => {
    // Its own dispatcher (the injection point for the endpoint's connection policies): no pooled
    // socket to the server from earlier tests, so the refusal is the connect's.
    const dispatcher = new Agent();
    t.after(() => dispatcher.close());
    const source = sourceFromYaml(yaml(), { dispatcher });
    await idp.stop();
    try {
      const refusal = expectRefused(await credentialFor(source, verifiedCaller(subject)));
      assert.deepEqual([refusal.status, refusal.message, refusal.outcome], [500, 'backend authentication failed: token exchange request failed: connection refused', 'endpoint_unreachable']);
      assert.match(refusal.detail, new RegExp(`POST ${idp.tokenEndpoint}: .*ECONNREFUSED`));
      assertNoSecrets(refusal, secrets());
    } finally {
      await idp.restart();
    }
    expectGranted(await credentialFor(source, verifiedCaller(subject)));
  });

  it('slow (no answer within the deadline): 500, timed out', async () => {
    const source = sourceFromYaml(yaml(), { timeoutMs: 300 });
    const held = idp.holdNext();
    const pending = credentialFor(source, verifiedCaller(subject));
    await held.arrived;
    const refusal = expectRefused(await pending);
    held.release();
    assert.deepEqual([refusal.status, refusal.message], [500, 'backend authentication failed: token exchange request failed: timed out']);
    assertNoSecrets(refusal, secrets());
  });

  it('an answer without end: read up to the cap, then dropped', async () => {
    const r = await refusedWith({ endless: true }, '  cache: {maxEntries: 0}');
    assert.deepEqual([r.status, r.message], [500, 'backend authentication failed: token exchange request failed: response too large']);
    // The default cap is 1 MiB; what the server managed to write is bounded by socket buffers.
    assert.ok(idp.endlessBytes < 64 * 1024 * 1024, `${idp.endlessBytes} bytes written`);
    const small = expectRefused(await credentialFor(sourceFromYaml(yaml('  cache: {maxEntries: 0}'), { maxResponseBytes: 1000 }), verifiedCaller(subject)));
    assert.equal(small.message, 'backend authentication failed: token exchange request failed: response too large');
  });
});
