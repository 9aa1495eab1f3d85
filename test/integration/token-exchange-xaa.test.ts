// backendAuth crossAppAccess (ID-JAG, MCP Enterprise-Managed Authorization) end to end: the
// user's IdP exchanges their ID token for an ID-JAG, the resource authorization server (a second
// real oidc-provider, which checks the ID-JAG's typ, aud and client_id) exchanges that for an
// access token, and the MCP upstream lets it in. Both legs on the wire, the cache of the final
// token, and each leg's failures classified as agentgateway does.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { type UserIdp, assertNoSecrets, bearerOf, credentialFor, expectGranted, expectRefused, sourceFromYaml, startUserIdp, verifiedCaller, whoami } from '../helpers/exchange-fixtures.js';
import { type TokenCheckingUpstream, startTokenCheckingUpstream } from '../helpers/token-checking-upstream.js';
import { ID_JAG_TYP, JWT_BEARER, TOKEN_EXCHANGE, TT_ID, TT_ID_JAG, type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';

const TODOS = 'https://api.todos.example.com/mcp';

describe('crossAppAccess', () => {
  let user: UserIdp;
  let idp: TokenIdp;
  let ras: TokenIdp;
  let todos: TokenCheckingUpstream;
  before(async () => {
    user = await startUserIdp();
    idp = await startTokenIdp({ trust: [user.trust] });
    ras = await startTokenIdp({ mode: 'resource-as', trust: [{ issuer: idp.issuer, jwks: idp.jwks }], clientSuffix: '-at-todos', expiresIn: 600 });
    idp.setIdJagClient(ras.issuer, ras.clients.basic.clientId);
    todos = await startTokenCheckingUpstream({ issuer: ras.issuer, jwks: ras.jwks, audience: TODOS, name: 'todos' });
  });
  after(() => Promise.all([idp.close(), ras.close(), todos.close()]));
  beforeEach(() => {
    idp.answerWith(null);
    ras.answerWith(null);
  });

  const yaml = (extra = '', audience = ras.issuer) =>
    [
      'crossAppAccess:',
      `  identityProvider: {host: "${idp.issuer}", path: /token, clientAuth: {method: clientSecretPost, clientId: ${idp.clients.post.clientId}, clientSecret: "${idp.clients.post.clientSecret}"}}`,
      `  resourceAuthorizationServer: {host: "${ras.issuer}", path: /token, clientAuth: {clientId: "${ras.clients.basic.clientId}", clientSecret: "${ras.clients.basic.clientSecret}"}}`,
      `  audience: "${audience}"`,
      `  resources: ["${TODOS}"]`,
      '  scopes: [todos.read, todos.write]',
      extra,
    ].join('\n');
  const last = (server: TokenIdp) => {
    const call = server.calls.at(-1);
    assert.ok(call !== undefined);
    return call;
  };

  it('both legs on the wire, and a token the upstream lets in', async () => {
    const idToken = await user.token('alice');
    const caller = verifiedCaller(idToken);
    const credential = expectGranted(await credentialFor(sourceFromYaml(yaml()), caller));
    assert.deepEqual(credential.removes, [{ kind: 'header', name: 'authorization' }]);

    assert.deepEqual(last(idp).form, [
      ['grant_type', TOKEN_EXCHANGE],
      ['subject_token', idToken],
      ['subject_token_type', TT_ID],
      ['requested_token_type', TT_ID_JAG],
      ['audience', ras.issuer],
      ['scope', 'todos.read todos.write'],
      ['resource', TODOS],
      ['client_id', idp.clients.post.clientId],
      ['client_secret', idp.clients.post.clientSecret],
    ]);
    const leg2 = last(ras);
    const idJag = leg2.param('assertion') ?? '';
    // The resource authorization server got an ID-JAG for itself, for this client, for the user.
    assert.deepEqual(leg2.form, [
      ['grant_type', JWT_BEARER],
      ['assertion', idJag],
      ['scope', 'todos.read todos.write'],
    ]);
    assert.equal(decodeProtectedHeader(idJag).typ, ID_JAG_TYP);
    const jag = decodeJwt(idJag);
    assert.deepEqual(
      [jag.iss, jag.sub, jag.aud, jag['resource'], jag['client_id'], jag['scope']],
      [idp.issuer, 'alice', ras.issuer, TODOS, ras.clients.basic.clientId, 'todos.read todos.write'],
    );
    assert.ok(leg2.headers['authorization']?.toString().startsWith('Basic '));

    const access = decodeJwt(bearerOf(credential));
    assert.deepEqual([access.iss, access.sub, access.aud], [ras.issuer, 'alice', TODOS]);
    assert.deepEqual(await whoami(todos.url, caller, credential), { sub: 'alice', aud: TODOS });
  });

  it('the final token is cached: the next request calls neither server', async () => {
    const source = sourceFromYaml(yaml());
    const caller = verifiedCaller(await user.token('bob'));
    const [before1, before2] = [idp.calls.length, ras.calls.length];
    const first = await credentialFor(source, caller);
    const second = await credentialFor(source, caller);
    assert.equal(expectGranted(second).outcome, 'cache_hit');
    assert.equal(bearerOf(second), bearerOf(first));
    assert.deepEqual([idp.calls.length - before1, ras.calls.length - before2], [1, 1]);
  });

  it('accessTokenScopes: what leg 2 asks for; [] sends no scope', async () => {
    const caller = verifiedCaller(await user.token('carol'));
    expectGranted(await credentialFor(sourceFromYaml(yaml('  accessTokenScopes: [todos.read]')), caller));
    assert.equal(last(ras).param('scope'), 'todos.read');
    expectGranted(await credentialFor(sourceFromYaml(yaml('  accessTokenScopes: []')), caller));
    assert.deepEqual(last(ras).form.map(([k]) => k), ['grant_type', 'assertion']);
    // Beyond what the ID-JAG grants: the resource AS refuses (a leg-2 4xx is the gateway's 500).
    const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml('  accessTokenScopes: [todos.admin]')), caller));
    assert.deepEqual([refusal.status, refusal.message], [500, 'backend authentication failed: chained token exchange returned status 400 Bad Request']);
    assert.match(refusal.detail, /invalid_scope/);
  });

  it('subjectToken: another source and type', async () => {
    const token = await user.token('dave');
    const source = sourceFromYaml(yaml('  subjectToken: {source: {expression: jwt.rawToken.unredacted()}, tokenType: urn:ietf:params:oauth:token-type:access_token}'));
    const credential = expectGranted(await credentialFor(source, { ...verifiedCaller(token), headers: [] }));
    assert.equal(last(idp).param('subject_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
    assert.deepEqual(credential.removes, []);
  });

  describe('failures', () => {
    const refused = async (extra = '  cache: {maxEntries: 0}', audience?: string) => {
      const token = await user.token('erin');
      const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml(extra, audience)), verifiedCaller(token)));
      assertNoSecrets(refusal, [token, idp.clients.post.clientSecret, ras.clients.basic.clientSecret]);
      return refusal;
    };

    it('no subject: 400, neither server called', async () => {
      const calls = [idp.calls.length, ras.calls.length];
      const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml()), { token: null, claims: null, headers: [], query: '' }));
      assert.deepEqual([refusal.status, refusal.message], [400, 'invalid request']);
      assert.deepEqual([idp.calls.length, ras.calls.length], calls);
    });

    it('leg 1 refused (4xx): 400; 401 or 5xx: 500; the resource AS is not called', async () => {
      const calls = ras.calls.length;
      idp.answerWith({ status: 400, json: { error: 'invalid_grant' } });
      assert.deepEqual([(await refused()).status, (await refused()).message], [400, 'invalid request']);
      idp.answerWith({ status: 401, json: { error: 'invalid_client' } });
      assert.equal((await refused()).message, 'backend authentication failed: token exchange returned status 401 Unauthorized');
      idp.answerWith({ status: 502, text: 'bad gateway' });
      assert.equal((await refused()).message, 'backend authentication failed: token exchange returned status 502 Bad Gateway');
      assert.equal(ras.calls.length, calls);
    });

    it('leg 1 answering something other than an ID-JAG: 500', async () => {
      const cases: Array<[unknown, string]> = [
        [{ access_token: 'x', token_type: 'Bearer', issued_token_type: TT_ID_JAG }, 'token exchange returned unsupported token_type for id-jag'],
        [{ access_token: 'x', token_type: 'N_A' }, 'token exchange response missing issued_token_type'],
        [{ access_token: 'x', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 'token exchange returned an issued_token_type other than id-jag'],
        [{ access_token: '', issued_token_type: TT_ID_JAG, token_type: 'n_a' }, 'token exchange response contained an empty access_token'],
      ];
      for (const [json, reason] of cases) {
        idp.answerWith({ status: 200, json });
        const r = await refused();
        assert.deepEqual([r.status, r.message], [500, `backend authentication failed: ${reason}`], JSON.stringify(json));
      }
    });

    it('leg 2: every failure is 500; a refusal is a chained one', async () => {
      ras.answerWith({ status: 400, json: { error: 'invalid_grant' } });
      const r400 = await refused();
      assert.deepEqual([r400.status, r400.message, r400.outcome], [500, 'backend authentication failed: chained token exchange returned status 400 Bad Request', 'chained_endpoint_error']);
      ras.answerWith({ status: 503, json: {} });
      assert.equal((await refused()).message, 'backend authentication failed: token exchange returned status 503 Service Unavailable');
      ras.answerWith({ status: 200, json: { access_token: 'x', token_type: 'N_A' } });
      assert.equal((await refused()).message, 'backend authentication failed: token exchange returned unsupported token_type');
    });

    it('an ID-JAG for another audience: the real resource AS refuses it (500, chained)', async () => {
      const r = await refused('  cache: {maxEntries: 0}', 'https://someone-else.example.com');
      assert.deepEqual([r.status, r.message], [500, 'backend authentication failed: chained token exchange returned status 400 Bad Request']);
      assert.match(r.detail, /invalid_grant/);
    });

    it('resource AS down: 500, and nothing is cached', async (t) => {
      const source = sourceFromYaml(yaml());
      const caller = verifiedCaller(await user.token('frank'));
      await ras.stop();
      t.after(() => ras.restart());
      const r = expectRefused(await credentialFor(source, caller));
      assert.equal(r.status, 500);
      assert.match(r.message, /^backend authentication failed: token exchange request failed: connection (refused|failed)$/);
      await ras.restart();
      assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'exchanged');
    });
  });
});
