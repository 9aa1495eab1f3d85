// backendAuth oauthTokenExchange against a real authorization server (oidc-provider with the
// RFC 8693 and RFC 7523 grants): each grant, each client authentication, the wire form, subject
// and actor sources, additionalParams, discovery from an issuer, and two targets each getting a
// token of their own for one user, which a token-checking MCP upstream lets in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createHash } from 'node:crypto';
import {
  type UserIdp, anonymousCaller, bearerOf, credentialFor, expectGranted, expectRefused, sourceFromYaml, startUserIdp, verifiedCaller, whoami,
} from '../helpers/exchange-fixtures.js';
import { type TokenCheckingUpstream, startTokenCheckingUpstream } from '../helpers/token-checking-upstream.js';
import { CLIENT_CHAIN_PEM, CLIENT_KEY_ID, CLIENT_KEY_PEM, JWT_BEARER, TOKEN_EXCHANGE, TT_ACCESS, TT_JWT, type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';
import { type TempCwd, tempCwd } from '../unit/config/fixtures.js';

const CRM = 'https://crm.example.com/mcp';
/** The SDK client's error for an HTTP 401. */
const unauthorized = (err: unknown): boolean => err instanceof Error && 'code' in err && err.code === 401;
const WIKI = 'https://wiki.example.com/mcp';

describe('oauthTokenExchange against a real authorization server', () => {
  let user: UserIdp;
  let idp: TokenIdp;
  let crm: TokenCheckingUpstream;
  let wiki: TokenCheckingUpstream;
  let cwd: TempCwd;

  before(async () => {
    user = await startUserIdp();
    idp = await startTokenIdp({ trust: [user.trust] });
    crm = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: CRM, name: 'crm' });
    wiki = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: WIKI, name: 'wiki' });
    cwd = tempCwd();
    cwd.write('client-key.pem', CLIENT_KEY_PEM);
    cwd.write('client-chain.pem', CLIENT_CHAIN_PEM);
    cwd.write('post-secret', `${idp.clients.post.clientSecret}\n`);
  });
  after(async () => {
    await Promise.all([idp.close(), crm.close(), wiki.close()]);
    cwd.remove();
  });

  /** `oauthTokenExchange` YAML with this IdP's endpoint and the given extra lines. */
  const exchange = (lines: string, audience = CRM): string =>
    `oauthTokenExchange:\n  host: "${idp.issuer}"\n  path: /token\n  audiences: ["${audience}"]\n${lines
      .trim()
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}`;
  const basicAuth = () => `clientAuth: {clientId: "${idp.clients.basic.clientId}", clientSecret: "${idp.clients.basic.clientSecret}"}`;
  const lastCall = () => {
    const call = idp.calls.at(-1);
    assert.ok(call !== undefined, 'the IdP was called');
    return call;
  };

  it('client_secret_basic: the form as agentgateway sends it, and a token the upstream lets in', async () => {
    const token = await user.token('alice');
    const source = sourceFromYaml(exchange(`${basicAuth()}\nscopes: [crm.read, crm.write]\nresources: ["${CRM}/api"]`));
    const caller = verifiedCaller(token);
    const credential = expectGranted(await credentialFor(source, caller));
    assert.equal(credential.outcome, 'exchanged');
    assert.deepEqual(credential.removes, [{ kind: 'header', name: 'authorization' }]);

    const call = lastCall();
    assert.deepEqual(call.form, [
      ['grant_type', TOKEN_EXCHANGE],
      ['subject_token', token],
      ['subject_token_type', TT_ACCESS],
      ['audience', CRM],
      ['scope', 'crm.read crm.write'],
      ['resource', `${CRM}/api`],
    ]);
    // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
    const basic = Buffer.from(`${encodeURIComponent(idp.clients.basic.clientId).replace(/%20/g, '+')}:${'basic+secret%3A%2B%2F%25'}`).toString('base64');
    assert.equal(call.headers['authorization'], `Basic ${basic}`);
    assert.equal(call.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(call.headers['accept'], 'application/json');

    const issued = decodeJwt(bearerOf(credential));
    assert.deepEqual([issued.sub, issued.aud, issued['client_id'], issued['scope']], ['alice', [CRM, `${CRM}/api`], idp.clients.basic.clientId, 'crm.read crm.write']);
    assert.deepEqual(await whoami(crm.url, caller, credential), { sub: 'alice', aud: [CRM, `${CRM}/api`] });
    assert.equal(crm.seen.at(-1)?.token, bearerOf(credential));
  });

  it('client_secret_post (secret from a file), requested_token_type sent and checked', async () => {
    const source = sourceFromYaml(
      exchange(`clientAuth: {method: clientSecretPost, clientId: ${idp.clients.post.clientId}, clientSecret: {file: post-secret}}\nrequestedTokenType: ${TT_JWT}`),
      {},
      cwd.dir,
    );
    const token = await user.token('bob');
    const credential = await credentialFor(source, verifiedCaller(token));
    const call = lastCall();
    assert.deepEqual(call.form, [
      ['grant_type', TOKEN_EXCHANGE],
      ['subject_token', token],
      ['subject_token_type', TT_ACCESS],
      ['requested_token_type', TT_JWT],
      ['audience', CRM],
      ['client_id', idp.clients.post.clientId],
      ['client_secret', idp.clients.post.clientSecret],
    ]);
    assert.equal(call.headers['authorization'], undefined);
    assert.deepEqual(await whoami(crm.url, verifiedCaller(token), credential), { sub: 'bob', aud: CRM });
  });

  it('private_key_jwt: a fresh assertion per call, with x5c or x5t#S256', async () => {
    const ders = [...CLIENT_CHAIN_PEM.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
      Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'),
    );
    for (const header of ['x5c', 'x5t#S256'] as const) {
      const source = sourceFromYaml(
        exchange(
          `clientAuth: {method: privateKeyJwt, clientId: ${idp.clients.privateKeyJwt.clientId}, signingKey: {file: client-key.pem}, ` +
            `alg: PS256, kid: ${CLIENT_KEY_ID}, assertionAudience: "${idp.issuer}", certificate: {file: client-chain.pem}, certificateHeader: "${header}"}`,
        ),
        {},
        cwd.dir,
      );
      const token = await user.token(`carol-${header}`);
      const before = Math.floor(Date.now() / 1000);
      const credential = await credentialFor(source, verifiedCaller(token));
      assert.deepEqual(await whoami(crm.url, verifiedCaller(token), credential), { sub: `carol-${header}`, aud: CRM });

      const call = lastCall();
      assert.deepEqual(call.form.map(([k]) => k), ['grant_type', 'subject_token', 'subject_token_type', 'audience', 'client_id', 'client_assertion_type', 'client_assertion']);
      assert.equal(call.param('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const assertion = call.param('client_assertion') ?? '';
      const claims = decodeJwt(assertion);
      const id = idp.clients.privateKeyJwt.clientId;
      assert.deepEqual([claims.iss, claims.sub, claims.aud], [id, id, idp.issuer]);
      assert.match(String(claims.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(claims.iat !== undefined && claims.iat >= before - 11 && claims.iat <= before - 9, `iat ${String(claims.iat)} is now - 10 s`);
      assert.equal(claims.nbf, claims.iat);
      assert.equal(claims.exp, (claims.iat ?? 0) + 310);
      const h = decodeProtectedHeader(assertion);
      assert.deepEqual([h.alg, h.kid, h.typ], ['PS256', CLIENT_KEY_ID, 'JWT']);
      if (header === 'x5c') assert.deepEqual(h.x5c, ders.map((d) => d.toString('base64')));
      else assert.equal(h['x5t#S256'], createHash('sha256').update(ders[0] ?? '').digest('base64url'));
    }
  });

  it('jwt-bearer (the on-behalf-of shape): the user token as the assertion, additionalParams from CEL', async () => {
    const source = sourceFromYaml(
      exchange(
        `grantType: jwtBearer\nclientAuth: {method: clientSecretPost, clientId: ${idp.clients.post.clientId}, clientSecret: "${idp.clients.post.clientSecret}"}\n` +
          `scopes: [crm.read]\nadditionalParams: {requested_token_use: '"on_behalf_of"', tenant: jwt.tid, acr: 'has(jwt.acr) ? jwt.acr : "none"'}`,
      ),
    );
    const token = await user.token('dave', { tid: 'acme' });
    const credential = await credentialFor(source, verifiedCaller(token));
    assert.deepEqual(lastCall().form, [
      ['grant_type', JWT_BEARER],
      ['assertion', token],
      ['audience', CRM],
      ['scope', 'crm.read'],
      ['acr', 'none'],
      ['requested_token_use', 'on_behalf_of'],
      ['tenant', 'acme'],
      ['client_id', idp.clients.post.clientId],
      ['client_secret', idp.clients.post.clientSecret],
    ]);
    assert.deepEqual(await whoami(crm.url, verifiedCaller(token), credential), { sub: 'dave', aud: CRM });
  });

  it('additionalParams that fail or are not strings refuse the call (400) before the IdP hears of it', async () => {
    const calls = idp.calls.length;
    for (const expr of ['jwt.missing', 'jwt.n', 'jwt.rawToken']) {
      const source = sourceFromYaml(exchange(`${basicAuth()}\nadditionalParams: {x: "${expr}"}`));
      const refusal = expectRefused(await credentialFor(source, verifiedCaller(await user.token('erin', { n: 5 }))));
      assert.deepEqual([refusal.status, refusal.message, refusal.outcome], [400, 'invalid request', 'param_error'], expr);
    }
    assert.equal(idp.calls.length, calls);
  });

  describe('the subject token', () => {
    it("default: the token jwtAuth verified, though the gateway has stripped the client's header", async () => {
      const token = await user.token('frank');
      const source = sourceFromYaml(exchange(basicAuth()));
      const credential = await credentialFor(source, { ...verifiedCaller(token), headers: [] });
      assert.equal(lastCall().param('subject_token'), token);
      assert.deepEqual(await whoami(crm.url, anonymousCaller([]), credential), { sub: 'frank', aud: CRM });
    });

    it('default on a route without jwtAuth: the Authorization header as sent (any case of Bearer)', async () => {
      const token = await user.token('grace');
      const credential = await credentialFor(sourceFromYaml(exchange(basicAuth())), anonymousCaller([['authorization', `bearer ${token}`]]));
      assert.equal(lastCall().param('subject_token'), token);
      expectGranted(credential);
    });

    it('an expression: jwt.rawToken.unredacted(); nothing to strip', async () => {
      const token = await user.token('heidi');
      const source = sourceFromYaml(exchange(`${basicAuth()}\nsubjectToken: {source: {expression: jwt.rawToken.unredacted()}, tokenType: ${TT_JWT}}`));
      const credential = expectGranted(await credentialFor(source, { ...verifiedCaller(token), headers: [] }));
      assert.deepEqual([lastCall().param('subject_token'), lastCall().param('subject_token_type')], [token, TT_JWT]);
      assert.deepEqual(credential.removes, []);
    });

    it('a header, a query parameter, a cookie: read as the client sent them, stripped upstream', async () => {
      const token = await user.token('ivan');
      const cases = [
        ['{header: {name: x-user-token, prefix: "Token "}}', anonymousCaller([['x-user-token', `token ${token}`]]), { kind: 'header', name: 'x-user-token' }],
        ['{queryParameter: {name: id_token}}', anonymousCaller([], `a=1&id_token=${token}`), { kind: 'queryParameter', name: 'id_token' }],
        ['{cookie: {name: session}}', anonymousCaller([['cookie', `theme=dark; session=${token}`]]), { kind: 'cookie', name: 'session' }],
      ] as const;
      for (const [location, caller, removal] of cases) {
        const source = sourceFromYaml(exchange(`${basicAuth()}\nsubjectToken: {source: ${location}}`));
        const credential = expectGranted(await credentialFor(source, caller));
        assert.equal(lastCall().param('subject_token'), token, location);
        assert.deepEqual(credential.removes, [removal]);
      }
    });

    it('missing or blank: 400 invalid request, and the IdP is not called', async () => {
      const calls = idp.calls.length;
      const cases = [
        [exchange(basicAuth()), anonymousCaller([])],
        [exchange(basicAuth()), anonymousCaller([['authorization', 'Bearer    ']])],
        [exchange(basicAuth()), anonymousCaller([['authorization', 'Basic dXNlcg==']])],
        [exchange(`${basicAuth()}\nsubjectToken: {source: {expression: jwt.rawToken.unredacted()}}`), anonymousCaller([['authorization', 'Bearer x']])],
        [exchange(`${basicAuth()}\nsubjectToken: {source: {header: {name: x-user-token}}}`), verifiedCaller(await user.token('judy'))],
      ] as const;
      for (const [yaml, caller] of cases) {
        const refusal = expectRefused(await credentialFor(sourceFromYaml(yaml), caller));
        assert.deepEqual([refusal.status, refusal.message, refusal.outcome], [400, 'invalid request', 'missing_subject']);
      }
      assert.equal(idp.calls.length, calls);
    });

    it('a subject the IdP does not trust: its 400 invalid_grant is the client\'s 400', async () => {
      const stranger = await (await startUserIdp()).token('mallory');
      const refusal = expectRefused(await credentialFor(sourceFromYaml(exchange(basicAuth())), verifiedCaller(stranger)));
      assert.deepEqual([refusal.status, refusal.message, refusal.outcome], [400, 'invalid request', 'endpoint_rejected']);
      assert.match(refusal.detail, /400 Bad Request: .*invalid_grant/);
    });
  });

  describe('the actor token', () => {
    const actorYaml = (enforce: boolean) =>
      exchange(`${basicAuth()}\nactorToken: {source: {header: {name: x-agent-token}}, tokenType: ${TT_JWT}, enforceMayAct: ${String(enforce)}}`);

    it('sent after the subject, becomes the act claim, and its header is stripped', async () => {
      const subject = await user.token('kim');
      const actor = await user.token('agent-7');
      const caller = verifiedCaller(subject, [['authorization', `Bearer ${subject}`], ['x-agent-token', actor]]);
      const credential = expectGranted(await credentialFor(sourceFromYaml(actorYaml(false)), caller));
      assert.deepEqual(lastCall().form.slice(0, 5), [
        ['grant_type', TOKEN_EXCHANGE],
        ['subject_token', subject],
        ['subject_token_type', TT_ACCESS],
        ['actor_token', actor],
        ['actor_token_type', TT_JWT],
      ]);
      assert.deepEqual(decodeJwt(bearerOf(credential))['act'], { sub: 'agent-7' });
      assert.deepEqual(credential.removes, [{ kind: 'header', name: 'authorization' }, { kind: 'header', name: 'x-agent-token' }]);
    });

    it("missing: 400; enforceMayAct: the subject's may_act must name the actor, else 403 and no IdP call", async () => {
      const actor = await user.token('agent-7', { azp: 'agents' });
      const calls = idp.calls.length;
      const noActor = expectRefused(await credentialFor(sourceFromYaml(actorYaml(false)), verifiedCaller(await user.token('kim'))));
      assert.deepEqual([noActor.status, noActor.outcome], [400, 'missing_actor']);
      const caller = async (mayAct: unknown) => {
        const subject = await user.token('kim', mayAct === undefined ? {} : { may_act: mayAct });
        return verifiedCaller(subject, [['x-agent-token', actor]]);
      };
      for (const mayAct of [undefined, {}, 'agent-7', { sub: 'agent-8' }, { sub: 'agent-7', azp: 'others' }, { sub: ['agent-1', 'agent-2'] }]) {
        const refusal = expectRefused(await credentialFor(sourceFromYaml(actorYaml(true)), await caller(mayAct)));
        assert.deepEqual([refusal.status, refusal.message, refusal.outcome], [403, 'authorization failed', 'may_act'], JSON.stringify(mayAct));
      }
      assert.equal(idp.calls.length, calls);
      for (const mayAct of [{ sub: 'agent-7' }, { sub: ['agent-1', 'agent-7'], azp: 'agents' }]) {
        expectGranted(await credentialFor(sourceFromYaml(actorYaml(true)), await caller(mayAct)));
      }
    });
  });

  it('authorizationLocation: the exchanged token goes where it says; extra credentials follow it', async () => {
    const source = sourceFromYaml(
      `${exchange(`${basicAuth()}\nauthorizationLocation: {header: {name: x-crm-token, prefix: "Token "}}`)}\ncredentials: [{location: {header: {name: x-tenant-key}}, key: tenant-7}]`,
    );
    const credential = expectGranted(await credentialFor(source, verifiedCaller(await user.token('liam'))));
    assert.deepEqual(credential.inserts.map((i) => [i.kind, i.name]), [['header', 'x-crm-token'], ['header', 'x-tenant-key']]);
    assert.match(credential.inserts[0]?.value ?? '', /^Token ey/);
    assert.equal(credential.inserts[1]?.value, 'tenant-7');
  });

  it('issuer (Portcullis): the token endpoint comes from the metadata, looked up once', async () => {
    const yaml = `oauthTokenExchange:\n  issuer: "${idp.issuer}"\n  audiences: ["${CRM}"]\n  ${basicAuth()}`;
    const source = sourceFromYaml(yaml);
    for (const sub of ['mia', 'noah']) {
      const credential = await credentialFor(source, verifiedCaller(await user.token(sub)));
      assert.deepEqual(await whoami(crm.url, verifiedCaller(await user.token(sub)), credential), { sub, aud: CRM });
    }
    // Metadata naming another issuer is not taken.
    const other = sourceFromYaml(yaml.replace(`issuer: "${idp.issuer}"`, `issuer: "${idp.issuer}/other"`));
    const refusal = expectRefused(await credentialFor(other, verifiedCaller(await user.token('olivia'))));
    assert.deepEqual([refusal.status, refusal.message], [500, 'backend authentication failed: authorization server metadata unavailable']);
    assert.match(refusal.detail, /openid-configuration: status 404/);
  });

  it('two targets, one user: each gets a token of its own, which the other refuses', async () => {
    const token = await user.token('pat');
    const caller = verifiedCaller(token);
    const forCrm = await credentialFor(sourceFromYaml(exchange(basicAuth(), CRM)), caller);
    const forWiki = await credentialFor(sourceFromYaml(exchange(basicAuth(), WIKI)), caller);
    assert.deepEqual(await whoami(crm.url, caller, forCrm), { sub: 'pat', aud: CRM });
    assert.deepEqual(await whoami(wiki.url, caller, forWiki), { sub: 'pat', aud: WIKI });
    await assert.rejects(whoami(crm.url, caller, forWiki), unauthorized);
    await assert.rejects(whoami(wiki.url, caller, forCrm), unauthorized);
    // The user's own login token is not let in either.
    await assert.rejects(whoami(crm.url, caller, { ok: true, removes: [], inserts: [], outcome: 'static' }), unauthorized);
    assert.ok(crm.refused.some((r) => /"aud"/.test(r)), crm.refused.join('; '));
  });
});
