// Route policy `backendAuth`: every envelope form, every kind Portcullis reads, and every error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createHash, X509Certificate } from 'node:crypto';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { BackendAuthPolicy, ClientAuthConfig, CrossAppAccessConfig, TokenExchangeConfig } from '../../../src/main/config/types.js';
import { redactedConfig } from '../../../src/main/ops/redact.js';
import { ONE_BACKEND, ROUTE, type TempCwd, expectOk, lines, tempCwd, withRoute } from './fixtures.js';

const AUTH = `${ROUTE}.policies.backendAuth`;
const TE = `${AUTH}.oauthTokenExchange`;
const XAA = `${AUTH}.crossAppAccess`;
const BEARER = { kind: 'header', name: 'authorization', prefix: 'Bearer ' } as const;
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/client-assertion/', import.meta.url));
const RSA_KEY = readFileSync(join(FIXTURES, 'rsa-key.pem'), 'utf8');
const RSA_CHAIN = readFileSync(join(FIXTURES, 'rsa-chain.pem'), 'utf8');

/** YAML lines at the indentation of a mapping under `backendAuth:`. */
const indent = (yaml: string, spaces: number): string =>
  yaml
    .trim()
    .split('\n')
    .map((l) => `${' '.repeat(spaces)}${l}`)
    .join('\n');

describe('backendAuth', () => {
  let cwd: TempCwd;
  before(() => {
    cwd = tempCwd();
    cwd.write('api-key', '  sk-from-file\n');
    cwd.write('secret', 'client-secret-from-file\n');
    cwd.write('empty', '\n  \n');
    cwd.write('rsa-key.pem', RSA_KEY);
    cwd.write('chain.pem', RSA_CHAIN);
    cwd.write('ec-key.pem', readFileSync(join(FIXTURES, 'rsa-key.pem'), 'utf8'));
  });
  after(() => cwd.remove());

  const text = (body: string) => withRoute(`policies:\n  backendAuth:\n${indent(body, 4)}\n${ONE_BACKEND}`);
  const load = (body: string, env: Record<string, string> = {}) => loadConfigText(text(body), { cwd: cwd.dir, env });
  const policy = (body: string, env: Record<string, string> = {}): BackendAuthPolicy | null | undefined =>
    expectOk(load(body, env)).binds[0]?.listeners[0]?.routes[0]?.policies.backendAuth;
  const exchange = (body: string): TokenExchangeConfig => {
    const p = policy(`oauthTokenExchange:\n${indent(body, 2)}`);
    assert.equal(p?.kind, 'oauthTokenExchange');
    return p.exchange;
  };
  const crossApp = (body: string): CrossAppAccessConfig => {
    const p = policy(`crossAppAccess:\n${indent(body, 2)}`);
    assert.equal(p?.kind, 'crossAppAccess');
    return p.crossApp;
  };
  const clientAuth = (body: string): ClientAuthConfig | null => exchange(`host: idp:8080\nclientAuth:\n${indent(body, 2)}`).clientAuth;
  const errors = (body: string, env: Record<string, string> = {}) => lines(load(body, env));

  describe('envelope', () => {
    it('no backendAuth: null', () => {
      const config = expectOk(loadConfigText(withRoute(ONE_BACKEND), { cwd: cwd.dir, env: {} }));
      assert.equal(config.binds[0]?.listeners[0]?.routes[0]?.policies.backendAuth, null);
    });

    it('{key: <string>}: a static key as Authorization: Bearer', () => {
      assert.deepEqual(policy('key: sk-123'), { kind: 'key', value: { secret: 'sk-123', file: null }, location: BEARER, credentials: [] });
    });

    it('{key: {file}}: read relative to the cwd and trimmed', () => {
      assert.deepEqual(policy('key: {file: api-key}'), {
        kind: 'key',
        value: { secret: 'sk-from-file', file: join(cwd.dir, 'api-key') },
        location: BEARER,
        credentials: [],
      });
    });

    it('{key: $VAR}: through the whole-file expansion, trimmed', () => {
      assert.deepEqual(policy('key: "$UPSTREAM_TOKEN"', { UPSTREAM_TOKEN: ' tok-from-env ' }), {
        kind: 'key',
        value: { secret: 'tok-from-env', file: null },
        location: BEARER,
        credentials: [],
      });
      assert.deepEqual(lines(load('key: "$UPSTREAM_TOKEN"')), ['line 7: environment variable "UPSTREAM_TOKEN" is not set (use ${UPSTREAM_TOKEN:-default} for a default)']);
    });

    it('the full key form with a location, and extra credentials', () => {
      const body = [
        'key: {value: {file: api-key}, location: {header: {name: X-Api-Key}}}',
        'credentials:',
        '- location: {header: {name: dd-application-key}}',
        '  key: "${DD_APP_KEY}"',
        '- location: {queryParameter: {name: code}}',
        '  key: q-secret',
        '- location: {cookie: {name: session}}',
        '  key: {file: secret}',
        '- location: {header: {name: authorization, prefix: "Basic "}}',
        '  key: dXNlcjpwdw==',
      ].join('\n');
      assert.deepEqual(policy(body, { DD_APP_KEY: 'dd-key' }), {
        kind: 'key',
        value: { secret: 'sk-from-file', file: join(cwd.dir, 'api-key') },
        location: { kind: 'header', name: 'x-api-key', prefix: '' },
        credentials: [
          { location: { kind: 'header', name: 'dd-application-key', prefix: '' }, key: { secret: 'dd-key', file: null } },
          { location: { kind: 'queryParameter', name: 'code' }, key: { secret: 'q-secret', file: null } },
          { location: { kind: 'cookie', name: 'session' }, key: { secret: 'client-secret-from-file', file: join(cwd.dir, 'secret') } },
          { location: { kind: 'header', name: 'authorization', prefix: 'Basic ' }, key: { secret: 'dXNlcjpwdw==', file: null } },
        ],
      });
    });

    it('the shorthand key keeps credentials written next to it', () => {
      assert.deepEqual(policy('key: sk-1\ncredentials: [{location: {header: {name: x-two}}, key: two}]'), {
        kind: 'key',
        value: { secret: 'sk-1', file: null },
        location: BEARER,
        credentials: [{ location: { kind: 'header', name: 'x-two', prefix: '' }, key: { secret: 'two', file: null } }],
      });
    });

    it('credentials alone', () => {
      assert.deepEqual(policy('credentials: [{location: {header: {name: x-key}}, key: k}]'), {
        kind: 'credentials',
        credentials: [{ location: { kind: 'header', name: 'x-key', prefix: '' }, key: { secret: 'k', file: null } }],
      });
    });

    it('passthrough: {}, null, and a location', () => {
      assert.deepEqual(policy('passthrough: {}'), { kind: 'passthrough', location: BEARER, credentials: [] });
      assert.deepEqual(policy('passthrough:'), { kind: 'passthrough', location: BEARER, credentials: [] });
      assert.deepEqual(policy('passthrough: {location: {header: {name: x-user-token}}}'), {
        kind: 'passthrough',
        location: { kind: 'header', name: 'x-user-token', prefix: '' },
        credentials: [],
      });
      assert.deepEqual(policy('passthrough: {location: {queryParameter: {name: access_token}}}')?.kind, 'passthrough');
    });

    it('errors: no kind, two kinds, unknown keys, kinds Portcullis does not implement', () => {
      assert.deepEqual(errors('{}'), [`${AUTH}: required: one of passthrough, key, oauthTokenExchange, crossAppAccess, or credentials`]);
      assert.deepEqual(errors('key: a\npassthrough: {}'), [
        `${AUTH}: expected at most one of passthrough, key, oauthTokenExchange, crossAppAccess (found passthrough, key)`,
      ]);
      assert.deepEqual(errors('passthrough: {}\nlocation: {}'), [`${AUTH}.location: unknown key`]);
      assert.deepEqual(errors('passthrough: {prefix: x}'), [`${AUTH}.passthrough.prefix: unknown key`]);
      for (const kind of ['gcp', 'aws', 'azure', 'copilot', 'jwtSign']) {
        assert.deepEqual(errors(`${kind}: {}`), [`${AUTH}.${kind}: not supported by Portcullis`]);
      }
      assert.deepEqual(errors('passthrough: {}\nbackendAuth: x'), [`${AUTH}.backendAuth: unknown key`]);
      assert.deepEqual(lines(loadConfigText(text('').replace('backendAuth:\n', 'backendAuth: true\n'), { cwd: cwd.dir, env: {} })), [
        `${AUTH}: expected a mapping`,
      ]);
    });

    it('errors: keys and credentials', () => {
      assert.deepEqual(errors('key: ""'), [`${AUTH}.key: expected a non-empty value`]);
      assert.deepEqual(errors('key: {file: empty}'), [`${AUTH}.key: ${join(cwd.dir, 'empty')} is empty`]);
      assert.deepEqual(errors('key: {file: missing}'), [
        `${AUTH}.key.file: could not read the file: ENOENT: no such file or directory, open '${join(cwd.dir, 'missing')}'`,
      ]);
      assert.deepEqual(errors('key: {file: ""}'), [`${AUTH}.key.file: expected a non-empty string`]);
      assert.deepEqual(errors('key: 42'), [`${AUTH}.key: expected a string or {file: <path>}`]);
      assert.deepEqual(errors('key: {value: a, file: api-key}'), [`${AUTH}.key.value: unknown key`]);
      assert.deepEqual(errors('key: {location: {header: {name: x}}}'), [`${AUTH}.key.value: required`]);
      assert.deepEqual(errors('key: {value: a, where: x}'), [`${AUTH}.key.where: unknown key`]);
      assert.deepEqual(errors('key: "a\\r\\nx-injected: 1"'), [`${AUTH}.key: holds characters a header value cannot carry (control characters)`]);
      assert.deepEqual(errors('key: {value: "a;b", location: {cookie: {name: c}}}'), [
        `${AUTH}.key.value: holds characters a cookie value cannot carry (control characters or ;)`,
      ]);
      assert.deepEqual(errors('credentials: [{key: a}]'), [`${AUTH}.credentials[0].location: required`]);
      assert.deepEqual(errors('credentials: [{location: {header: {name: x}}}]'), [`${AUTH}.credentials[0].key: required`]);
      assert.deepEqual(errors('credentials: [{location: {header: {name: x}}, key: a, extra: 1}]'), [`${AUTH}.credentials[0].extra: unknown key`]);
      assert.deepEqual(errors('credentials: {location: x}'), [`${AUTH}.credentials: expected a list`]);
    });

    it('errors: insert locations', () => {
      assert.deepEqual(errors('key: {value: a, location: {expression: "jwt.sub"}}'), [
        `${AUTH}.key.location.expression: an expression can only read a credential; give a header, queryParameter or cookie to write one to`,
      ]);
      assert.deepEqual(errors('passthrough: {location: {header: {name: Host}}}'), [
        `${AUTH}.passthrough.location.header.name: a credential cannot be written to "host": it frames or routes the request`,
      ]);
      assert.deepEqual(errors('passthrough: {location: {header: {name: "bad name"}}}'), [`${AUTH}.passthrough.location.header.name: expected a header name`]);
      assert.deepEqual(errors('passthrough: {location: {header: {name: x, prefix: "a\\n"}}}'), [
        `${AUTH}.passthrough.location.header.prefix: expected text allowed in a header value (no control characters)`,
      ]);
      assert.deepEqual(errors('passthrough: {location: {cookie: {name: "a;b"}}}'), [`${AUTH}.passthrough.location.cookie.name: expected a cookie name`]);
      assert.deepEqual(errors('passthrough: {location: {header: {name: x}, cookie: {name: c}}}'), [
        `${AUTH}.passthrough.location: expected only one of header, queryParameter, cookie, expression (found header, cookie)`,
      ]);
      assert.deepEqual(errors('passthrough: {location: {}}'), [
        `${AUTH}.passthrough.location: required: one of header, queryParameter, cookie, expression`,
      ]);
    });
  });

  describe('oauthTokenExchange', () => {
    it('the smallest form: defaults as agentgateway HEAD', () => {
      assert.deepEqual(exchange('host: localhost:7080'), {
        endpoint: { kind: 'url', url: 'http://localhost:7080/', tls: null },
        grantType: 'tokenExchange',
        subjectToken: { source: null, tokenType: 'urn:ietf:params:oauth:token-type:access_token' },
        actorToken: null,
        audiences: [],
        scopes: [],
        resources: [],
        requestedTokenType: null,
        clientAuth: null,
        additionalParams: [],
        authorizationLocation: BEARER,
        cache: { maxEntries: 8192, defaultTtlSeconds: 300 },
      });
    });

    it('every field', () => {
      const body = [
        'host: https://idp.example.com:8443',
        'path: /realms/backend/protocol/openid-connect/token',
        'grantType: tokenExchange',
        'subjectToken: {source: {expression: jwt.rawToken.unredacted()}, tokenType: "urn:example:custom-token"}',
        'actorToken: {source: {header: {name: x-actor, prefix: "Bearer "}}, tokenType: urn:ietf:params:oauth:token-type:jwt, enforceMayAct: true}',
        'audiences: [target-a, target-b]',
        'scopes: [read, write]',
        'resources: ["https://api.example.com/"]',
        'requestedTokenType: urn:ietf:params:oauth:token-type:jwt',
        'clientAuth: {clientId: gw, clientSecret: {file: secret}}',
        'additionalParams: {zeta: jwt.sub, alpha: \'"on_behalf_of"\'}',
        'authorizationLocation: {header: {name: x-upstream-token}}',
        'cache: {maxEntries: 10, defaultTtl: 1m}',
      ].join('\n');
      assert.deepEqual(exchange(body), {
        endpoint: { kind: 'url', url: 'https://idp.example.com:8443/realms/backend/protocol/openid-connect/token', tls: null },
        grantType: 'tokenExchange',
        subjectToken: { source: { kind: 'expression', expr: 'jwt.rawToken.unredacted()' }, tokenType: 'urn:example:custom-token' },
        actorToken: {
          source: { kind: 'header', name: 'x-actor', prefix: 'Bearer ' },
          tokenType: 'urn:ietf:params:oauth:token-type:jwt',
          enforceMayAct: true,
        },
        audiences: ['target-a', 'target-b'],
        scopes: ['read', 'write'],
        resources: ['https://api.example.com/'],
        requestedTokenType: 'urn:ietf:params:oauth:token-type:jwt',
        clientAuth: { method: 'clientSecretBasic', clientId: 'gw', clientSecret: { secret: 'client-secret-from-file', file: join(cwd.dir, 'secret') } },
        additionalParams: [
          { name: 'alpha', expr: '"on_behalf_of"' },
          { name: 'zeta', expr: 'jwt.sub' },
        ],
        authorizationLocation: { kind: 'header', name: 'x-upstream-token', prefix: '' },
        cache: { maxEntries: 10, defaultTtlSeconds: 60 },
      });
    });

    it('the jwt-bearer grant (the Entra on-behalf-of shape)', () => {
      const e = exchange(
        'host: https://login.example.com\npath: /tenant/oauth2/v2.0/token\ngrantType: jwtBearer\n' +
          'clientAuth: {method: clientSecretPost, clientId: gw, clientSecret: s}\nscopes: ["https://graph.example.com/.default"]\n' +
          "additionalParams: {requested_token_use: '\"on_behalf_of\"'}",
      );
      assert.equal(e.grantType, 'jwtBearer');
      assert.deepEqual(e.clientAuth, { method: 'clientSecretPost', clientId: 'gw', clientSecret: { secret: 's', file: null } });
      assert.deepEqual(e.additionalParams, [{ name: 'requested_token_use', expr: '"on_behalf_of"' }]);
    });

    it('token endpoint host forms', () => {
      const url = (host: string, path?: string) => {
        const e = exchange(`host: "${host}"${path === undefined ? '' : `\npath: "${path}"`}`).endpoint;
        return e.kind === 'url' ? e.url : e.issuer;
      };
      assert.equal(url('idp.internal:8080', '/token'), 'http://idp.internal:8080/token');
      assert.equal(url('127.0.0.1:1'), 'http://127.0.0.1:1/');
      assert.equal(url('[::1]:9000', '/t'), 'http://[::1]:9000/t');
      assert.equal(url('http://idp.internal:8080', '/oauth/token'), 'http://idp.internal:8080/oauth/token');
      assert.equal(url('https://idp.example.com', '/token'), 'https://idp.example.com/token');
      assert.equal(url('https://idp.example.com/', '/token'), 'https://idp.example.com/token');
      // A path that looks like an authority stays a path on the host.
      assert.equal(url('idp:80', '//evil.example/token'), 'http://idp//evil.example/token');
    });

    it('an issuer instead of host (Portcullis): the token endpoint is discovered', () => {
      assert.deepEqual(exchange('issuer: https://idp.example.com/realms/acme').endpoint, { kind: 'issuer', issuer: 'https://idp.example.com/realms/acme', tls: null });
    });

    it('errors: the token endpoint', () => {
      const te = (body: string) => errors(`oauthTokenExchange:\n${indent(body, 2)}`);
      assert.deepEqual(te('path: /token'), [`${TE}: required: one of host, issuer`]);
      for (const host of ['idp.example.com', 'https://idp.example.com/token', 'https://idp.example.com?x=1', 'https://u:p@idp.example.com', 'ftp://idp:21', 'idp:0', 'idp:70000', 'a b:80']) {
        assert.deepEqual(te(`host: "${host}"`), [`${TE}.host: expected host:port or an http(s)://host[:port] URL without a path`], host);
      }
      assert.deepEqual(te('host: idp:80\npath: token'), [`${TE}.path: must start with /`]);
      assert.deepEqual(te('host: idp:80\npath: "/t#x"'), [`${TE}.path: must not contain #`]);
      assert.deepEqual(te('host: idp:80\nissuer: https://idp'), [`${TE}: expected only one of host, issuer (found host, issuer)`]);
      assert.deepEqual(te('issuer: https://idp\npath: /token'), [`${TE}.path: cannot be combined with issuer: the token endpoint comes from the issuer's metadata`]);
      assert.deepEqual(te('issuer: idp.example.com'), [`${TE}.issuer: expected an http or https URL`]);
      assert.deepEqual(te('backend: keycloak'), [`${TE}.backend: not supported by Portcullis`]);
      assert.deepEqual(te('name: keycloak\nport: 8080'), [`${TE}.name: not supported by Portcullis`, `${TE}.port: not supported by Portcullis`]);
      assert.deepEqual(te('host: idp:80\npolicies: {backendAuth: {passthrough: {}}, backendTLS: {alpn: [h2]}}'), [
        `${TE}.policies.backendAuth: not supported by Portcullis`,
        `${TE}.policies.backendTLS.alpn: not supported by Portcullis`,
      ]);
      assert.deepEqual(te('host: idp:80\npolicies: {backendTLS: {root: /nonexistent/ca.pem}}'), [
        `${TE}.policies.backendTLS.root: could not read the file: ENOENT: no such file or directory, open '/nonexistent/ca.pem'`,
      ]);
      assert.deepEqual(te('host: idp:80\ntokenEndpointPath: /t'), [`${TE}.tokenEndpointPath: unknown key`]);
    });

    it('errors: grants and token types', () => {
      const te = (body: string) => errors(`oauthTokenExchange:\n  host: idp:80\n${indent(body, 2)}`);
      assert.deepEqual(te('grantType: clientCredentials'), [`${TE}.grantType: expected one of tokenExchange, jwtBearer`]);
      assert.deepEqual(te('grantType: jwtBearer\nrequestedTokenType: urn:ietf:params:oauth:token-type:access_token'), [
        `${TE}.requestedTokenType: only valid with grantType tokenExchange`,
      ]);
      assert.deepEqual(te('grantType: jwtBearer\nactorToken: {source: {header: {name: x-actor}}}'), [`${TE}.actorToken: only valid with grantType tokenExchange`]);
      assert.deepEqual(te('requestedTokenType: urn:ietf:params:oauth:token-type:id-jag'), [
        `${TE}.requestedTokenType: an ID-JAG is only requested by backendAuth.crossAppAccess`,
      ]);
      assert.deepEqual(te('requestedTokenType: urn:example:custom'), [
        `${TE}.requestedTokenType: expected one of urn:ietf:params:oauth:token-type:access_token, urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:id_token (custom token types are only taken for subjectToken and actorToken)`,
      ]);
      for (const bad of ['access_token', 'urn:x#frag', '""']) {
        assert.deepEqual(te(`subjectToken: {tokenType: ${bad}}`).length, 1, bad);
      }
      assert.deepEqual(te('subjectToken: {tokenType: access_token}'), [
        `${TE}.subjectToken.tokenType: expected an absolute URI without a fragment (e.g. urn:ietf:params:oauth:token-type:jwt)`,
      ]);
      assert.deepEqual(te('subjectToken: {source: {expression: "jwt."}}'), [`${TE}.subjectToken.source.expression: CEL does not parse: Expected IDENTIFIER, got EOF`]);
      assert.deepEqual(te('subjectToken: {from: x}'), [`${TE}.subjectToken.from: unknown key`]);
      assert.deepEqual(te('actorToken: {tokenType: urn:ietf:params:oauth:token-type:jwt}'), [`${TE}.actorToken.source: required`]);
      assert.deepEqual(te('actorToken: {source: {header: {name: x}}, enforceMayAct: true}'), [
        `${TE}.actorToken.enforceMayAct: requires tokenType urn:ietf:params:oauth:token-type:jwt`,
      ]);
      assert.deepEqual(te('actorToken: {source: {header: {name: x}}, enforceMayAct: yes}'), [`${TE}.actorToken.enforceMayAct: expected true or false`]);
    });

    it('errors: additionalParams, authorizationLocation, cache, lists', () => {
      const te = (body: string) => errors(`oauthTokenExchange:\n  host: idp:80\n${indent(body, 2)}`);
      for (const name of ['grant_type', 'SUBJECT_TOKEN', 'Audience', 'resource', 'scope', 'Client_Secret', 'client_assertion_type', 'assertion', 'actor_token_type', 'requested_token_type', 'client_id', 'client_assertion', 'actor_token', 'subject_token_type']) {
        assert.deepEqual(te(`additionalParams: {${name}: '"x"'}`), [`${TE}.additionalParams.${name}: overrides a reserved OAuth parameter`], name);
      }
      assert.deepEqual(te('additionalParams: {a: "jwt.sub +"}'), [`${TE}.additionalParams.a: CEL does not parse: Unexpected token: EOF`]);
      assert.deepEqual(te('additionalParams: {a: 5}'), [`${TE}.additionalParams.a: expected a CEL expression returning a string (a literal needs inner quotes: '"value"')`]);
      assert.deepEqual(te('additionalParams: [a]'), [`${TE}.additionalParams: expected a mapping of parameter names to CEL expressions`]);
      assert.deepEqual(te('authorizationLocation: {expression: jwt.sub}'), [
        `${TE}.authorizationLocation.expression: an expression can only read a credential; give a header, queryParameter or cookie to write one to`,
      ]);
      assert.deepEqual(te('cache: {maxEntries: -1}'), [`${TE}.cache.maxEntries: expected an integer from 0 to 4294967295`]);
      assert.deepEqual(te('cache: {defaultTtl: soon}'), [`${TE}.cache.defaultTtl: expected a duration such as 300s or 5m`]);
      assert.deepEqual(te('cache: {ttl: 1s}'), [`${TE}.cache.ttl: unknown key`]);
      assert.deepEqual(te('audiences: a'), [`${TE}.audiences: expected a list`]);
      assert.deepEqual(te('scopes: [1]'), [`${TE}.scopes[0]: expected a string`]);
    });

    it('cache: maxEntries 0 turns it off, defaultTtl 0s is the default', () => {
      assert.deepEqual(exchange('host: idp:80\ncache: {maxEntries: 0}').cache, { maxEntries: 0, defaultTtlSeconds: 300 });
      assert.deepEqual(exchange('host: idp:80\ncache: {defaultTtl: 0s}').cache, { maxEntries: 8192, defaultTtlSeconds: 300 });
      assert.deepEqual(exchange('host: idp:80\ncache: {defaultTtl: 1500ms}').cache, { maxEntries: 8192, defaultTtlSeconds: 2 });
    });
  });

  describe('clientAuth', () => {
    it('clientId + clientSecret without method: clientSecretBasic', () => {
      assert.deepEqual(clientAuth('{clientId: gw, clientSecret: s}'), { method: 'clientSecretBasic', clientId: 'gw', clientSecret: { secret: 's', file: null } });
      assert.deepEqual(clientAuth('{method: clientSecretBasic, clientId: gw, clientSecret: {file: secret}}'), {
        method: 'clientSecretBasic',
        clientId: 'gw',
        clientSecret: { secret: 'client-secret-from-file', file: join(cwd.dir, 'secret') },
      });
    });

    it('clientSecretPost, with or without a secret', () => {
      assert.deepEqual(clientAuth('{method: clientSecretPost, clientId: gw}'), { method: 'clientSecretPost', clientId: 'gw', clientSecret: null });
      assert.deepEqual(clientAuth('{method: clientSecretPost, clientId: gw, clientSecret: s}'), {
        method: 'clientSecretPost',
        clientId: 'gw',
        clientSecret: { secret: 's', file: null },
      });
    });

    it('privateKeyJwt: key checked, RS256 by default, certificate headers', () => {
      const base = 'method: privateKeyJwt\nclientId: gw\nsigningKey: {file: rsa-key.pem}\nassertionAudience: https://idp.example.com/token';
      assert.deepEqual(clientAuth(base), {
        method: 'privateKeyJwt',
        clientId: 'gw',
        signingKey: { secret: RSA_KEY.trim(), file: join(cwd.dir, 'rsa-key.pem') },
        alg: 'RS256',
        kid: null,
        assertionAudience: 'https://idp.example.com/token',
        x5c: null,
        x5tS256: null,
      });
      const ders = [...RSA_CHAIN.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
        Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'),
      );
      assert.equal(ders.length, 2);
      const x5c = clientAuth(`${base}\nalg: PS256\nkid: k1\ncertificate: {file: chain.pem}\ncertificateHeader: x5c`);
      assert.equal(x5c?.method, 'privateKeyJwt');
      assert.deepEqual([x5c.alg, x5c.kid, x5c.x5c, x5c.x5tS256], ['PS256', 'k1', ders.map((d) => d.toString('base64')), null]);
      assert.ok(new X509Certificate(Buffer.from(x5c.x5c?.[0] ?? '', 'base64')).subject.includes('portcullis-gateway'));
      const x5t = clientAuth(`${base}\ncertificate: {file: chain.pem}\ncertificateHeader: "x5t#S256"`);
      assert.equal(x5t?.method, 'privateKeyJwt');
      assert.deepEqual([x5t.x5c, x5t.x5tS256], [null, createHash('sha256').update(ders[0] ?? '').digest('base64url')]);
    });

    it('errors', () => {
      const ca = (body: string) => errors(`oauthTokenExchange:\n  host: idp:80\n  clientAuth:\n${indent(body, 4)}`);
      const CA = `${TE}.clientAuth`;
      assert.deepEqual(ca('{clientId: "", clientSecret: s}'), [`${CA}.clientId: must not be empty`]);
      assert.deepEqual(ca('{clientSecret: s}'), [`${CA}.clientId: required`]);
      assert.deepEqual(ca('{clientId: gw}'), [`${CA}.clientSecret: required`]);
      assert.deepEqual(ca('{clientId: gw, clientSecret: ""}'), [`${CA}.clientSecret: expected a non-empty value`]);
      assert.deepEqual(ca('{method: clientSecretPost, clientId: gw, clientSecret: ""}'), [`${CA}.clientSecret: expected a non-empty value`]);
      assert.deepEqual(ca('{method: clientSecretJwt, clientId: gw}'), [`${CA}.method: expected one of clientSecretBasic, clientSecretPost, privateKeyJwt`]);
      assert.deepEqual(ca('{clientId: gw, clientSecret: s, signingKey: k}'), [`${CA}.signingKey: unknown key`]);
      const pkj = (extra: string) => ca(`method: privateKeyJwt\nclientId: gw\n${extra}`);
      assert.deepEqual(pkj('signingKey: {file: rsa-key.pem}'), [`${CA}.assertionAudience: required`]);
      assert.deepEqual(pkj('signingKey: {file: rsa-key.pem}\nassertionAudience: ""'), [`${CA}.assertionAudience: expected a non-empty string`]);
      assert.deepEqual(pkj('assertionAudience: a'), [`${CA}.signingKey: required`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: not-a-key'), [`${CA}.signingKey: not a PEM private key (error:1E08010C:DECODER routines::unsupported)`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\nalg: ES256'), [`${CA}.signingKey: alg ES256 needs an EC P-256 key`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\nalg: HS256'), [`${CA}.alg: expected one of RS256, RS384, RS512, PS256, ES256, ES384`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificate: {file: chain.pem}'), [`${CA}.certificateHeader: required when certificate is set`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificateHeader: x5c'), [`${CA}.certificate: required when certificateHeader is set`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificate: {file: chain.pem}\ncertificateHeader: x5u'), [
        `${CA}.certificateHeader: expected one of x5c, x5t#S256`,
      ]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificate: nothing\ncertificateHeader: x5c'), [`${CA}.certificate: no PEM blocks found`]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificate: {file: rsa-key.pem}\ncertificateHeader: x5c'), [
        `${CA}.certificate: expected CERTIFICATE PEM blocks, found PRIVATE KEY`,
      ]);
      // The chain's second certificate (the CA) is not the leaf: its key is not the signing key.
      const caOnly = `-----BEGIN CERTIFICATE-----${RSA_CHAIN.split('-----BEGIN CERTIFICATE-----')[2] ?? ''}`;
      cwd.write('ca-only.pem', caOnly);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\ncertificate: {file: ca-only.pem}\ncertificateHeader: x5c'), [
        `${CA}.certificate: the first certificate's public key is not the signing key's`,
      ]);
      assert.deepEqual(pkj('assertionAudience: a\nsigningKey: {file: rsa-key.pem}\nclientSecret: s'), [`${CA}.clientSecret: unknown key`]);
    });
  });

  describe('crossAppAccess', () => {
    const endpoints = [
      'identityProvider: {host: "https://idp.example.com", path: /oauth2/token, clientAuth: {clientId: gw, method: clientSecretPost, clientSecret: idp-secret}}',
      'resourceAuthorizationServer: {host: "auth.resource.example.com:8443", path: /token, clientAuth: {clientId: gw-at-todo, clientSecret: ras-secret}}',
      'audience: https://auth.resource.example.com',
    ].join('\n');

    it('the smallest form: id_token subject from the caller, scopes inherited, default cache', () => {
      assert.deepEqual(crossApp(endpoints), {
        identityProvider: {
          endpoint: { kind: 'url', url: 'https://idp.example.com/oauth2/token', tls: null },
          clientAuth: { method: 'clientSecretPost', clientId: 'gw', clientSecret: { secret: 'idp-secret', file: null } },
        },
        resourceAuthorizationServer: {
          endpoint: { kind: 'url', url: 'http://auth.resource.example.com:8443/token', tls: null },
          clientAuth: { method: 'clientSecretBasic', clientId: 'gw-at-todo', clientSecret: { secret: 'ras-secret', file: null } },
        },
        audience: 'https://auth.resource.example.com',
        resources: [],
        scopes: [],
        accessTokenScopes: [],
        subjectToken: { source: null, tokenType: 'urn:ietf:params:oauth:token-type:id_token' },
        cache: { maxEntries: 8192, defaultTtlSeconds: 300 },
      });
    });

    it('every field; accessTokenScopes unset inherits scopes, [] sends none', () => {
      const full = crossApp(
        `${endpoints}\nresources: ["https://api.resource.example.com"]\nscopes: [todos.read, todos.write]\n` +
          'subjectToken: {source: {expression: jwt.rawToken.unredacted()}, tokenType: urn:ietf:params:oauth:token-type:access_token}\ncache: {maxEntries: 5}',
      );
      assert.deepEqual(full.resources, ['https://api.resource.example.com']);
      assert.deepEqual([full.scopes, full.accessTokenScopes], [['todos.read', 'todos.write'], ['todos.read', 'todos.write']]);
      assert.deepEqual(full.subjectToken, { source: { kind: 'expression', expr: 'jwt.rawToken.unredacted()' }, tokenType: 'urn:ietf:params:oauth:token-type:access_token' });
      assert.deepEqual(full.cache, { maxEntries: 5, defaultTtlSeconds: 300 });
      assert.deepEqual(crossApp(`${endpoints}\nscopes: [a]\naccessTokenScopes: []`).accessTokenScopes, []);
      assert.deepEqual(crossApp(`${endpoints}\nscopes: [a]\naccessTokenScopes: [b]`).accessTokenScopes, ['b']);
      assert.deepEqual(crossApp(endpoints.replace('host: "https://idp.example.com", path: /oauth2/token', 'issuer: "https://idp.example.com"')).identityProvider.endpoint, {
        kind: 'issuer',
        issuer: 'https://idp.example.com',
        tls: null,
      });
    });

    it('errors', () => {
      const xaa = (body: string) => errors(`crossAppAccess:\n${indent(body, 2)}`);
      assert.deepEqual(xaa(endpoints.replace('https://auth.resource.example.com', '""')), [`${XAA}.audience: expected a non-empty string`]);
      assert.deepEqual(xaa(endpoints.split('\n').slice(1).join('\n')), [`${XAA}.identityProvider: required`]);
      assert.deepEqual(xaa(endpoints.replace(', clientAuth: {clientId: gw-at-todo, clientSecret: ras-secret}', '')), [
        `${XAA}.resourceAuthorizationServer.clientAuth: required`,
      ]);
      assert.deepEqual(xaa(endpoints.replace('path: /token', 'path: token')), [`${XAA}.resourceAuthorizationServer.path: must start with /`]);
      assert.deepEqual(xaa(`${endpoints}\nsubjectToken: {tokenType: urn:ietf:params:oauth:token-type:id-jag}`), [
        `${XAA}.subjectToken.tokenType: an ID-JAG cannot be the subject token`,
      ]);
      assert.deepEqual(xaa(`${endpoints}\nrequestedTokenType: urn:ietf:params:oauth:token-type:jwt`), [`${XAA}.requestedTokenType: unknown key`]);
      assert.deepEqual(xaa(endpoints.replace('path: /token,', 'path: /token, audience: x,')), [`${XAA}.resourceAuthorizationServer.audience: unknown key`]);
      assert.deepEqual(xaa(`${endpoints}\naccessTokenScopes: a`), [`${XAA}.accessTokenScopes: expected a list`]);
    });
  });

  it('/config_dump shows where secrets come from, never the secrets', () => {
    const body = [
      'oauthTokenExchange:',
      '  host: idp:80',
      '  clientAuth: {method: privateKeyJwt, clientId: gw, signingKey: {file: rsa-key.pem}, assertionAudience: a}',
      'credentials:',
      '- {location: {header: {name: x-a}}, key: inline-credential-value}',
      '- {location: {header: {name: x-b}}, key: {file: api-key}}',
    ].join('\n');
    const xaa = [
      'crossAppAccess:',
      '  identityProvider: {host: "idp:80", clientAuth: {clientId: gw, clientSecret: idp-client-secret}}',
      '  resourceAuthorizationServer: {host: "ras:80", clientAuth: {method: clientSecretPost, clientId: gw, clientSecret: {file: secret}}}',
      '  audience: https://ras',
    ].join('\n');
    for (const b of [body, xaa, 'key: static-key-value']) {
      const dump = JSON.stringify(redactedConfig(expectOk(load(b))));
      for (const secret of ['inline-credential-value', 'sk-from-file', 'PRIVATE KEY', RSA_KEY.split('\n')[1] ?? '?', 'idp-client-secret', 'client-secret-from-file', 'static-key-value']) {
        assert.ok(!dump.includes(secret), `${secret} in ${dump}`);
      }
      assert.ok(dump.includes('"secret":"<redacted>"'));
    }
    assert.ok(JSON.stringify(redactedConfig(expectOk(load(body)))).includes(JSON.stringify(join(cwd.dir, 'api-key'))));
  });

  it('a {file} secret is read at every load, so a reload takes a rotated file', () => {
    cwd.write('rotating', 'first');
    const value = () => {
      const p = policy('key: {file: rotating}');
      return p?.kind === 'key' ? p.value.secret : undefined;
    };
    assert.equal(value(), 'first');
    cwd.write('rotating', 'second\n');
    assert.equal(value(), 'second');
  });
});
