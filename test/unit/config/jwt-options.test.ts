// jwtAuth `location`, `jwtValidationOptions` and the OpenID-discovery JWKS forms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { JwtAuthPolicy } from '../../../src/main/config/types.js';
import { ROUTE, type TempCwd, ecJwk, expectOk, lines, tempCwd, withRoute } from './fixtures.js';

const JWT = `${ROUTE}.policies.jwtAuth`;

describe('jwtAuth location and validation options', () => {
  let cwd: TempCwd;
  before(() => {
    cwd = tempCwd();
    cwd.writeJwks('jwks.json', [ecJwk('k1')]);
  });
  after(() => cwd.remove());

  const text = (extra: string) => withRoute(`policies:\n  jwtAuth:\n    issuer: me\n    jwks: {file: jwks.json}\n${extra}`);
  const load = (extra: string) => loadConfigText(text(extra), { cwd: cwd.dir, env: {} });
  const policy = (extra: string): JwtAuthPolicy | null | undefined => expectOk(load(extra)).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth;

  it('location: the Authorization header with prefix "Bearer " by default', () => {
    assert.deepEqual(policy('')?.location, { kind: 'header', name: 'authorization', prefix: 'Bearer ' });
    assert.deepEqual(policy('    location: {header: {name: Authorization}}')?.location, {
      kind: 'header',
      name: 'authorization',
      prefix: 'Bearer ',
    });
  });

  it('location: another header, lower-cased, bare token unless a prefix is given', () => {
    assert.deepEqual(policy('    location: {header: {name: X-Api-Token}}')?.location, { kind: 'header', name: 'x-api-token', prefix: '' });
    assert.deepEqual(policy('    location: {header: {name: x-auth, prefix: "Token "}}')?.location, {
      kind: 'header',
      name: 'x-auth',
      prefix: 'Token ',
    });
    assert.deepEqual(policy('    location: {header: {name: authorization, prefix: ""}}')?.location, {
      kind: 'header',
      name: 'authorization',
      prefix: '',
    });
  });

  it('location: query parameter and cookie', () => {
    assert.deepEqual(policy('    location: {queryParameter: {name: access_token}}')?.location, { kind: 'queryParameter', name: 'access_token' });
    assert.deepEqual(policy('    location: {cookie: {name: session}}')?.location, { kind: 'cookie', name: 'session' });
  });

  it('a cookie token with CORS open to every origin with credentials is refused, naming the cors policy', () => {
    const cors = (c: string) => `  cors: ${c}\n`;
    const withCors = (c: string, location: string) =>
      loadConfigText(withRoute(`policies:\n${cors(c)}  jwtAuth:\n    issuer: me\n    jwks: {file: jwks.json}\n    location: ${location}\n`), { cwd: cwd.dir, env: {} });
    const open = '{allowOrigins: ["*"], allowCredentials: true}';
    assert.deepEqual(lines(withCors(open, '{cookie: {name: session}}')), [
      `${ROUTE}.policies.cors: allowOrigins "*" with allowCredentials: true cannot be combined with a token read from a cookie (jwtAuth.location.cookie), since every web page would act as the signed-in user; list the allowed origins`,
    ]);
    expectOk(withCors(open, '{header: {name: Authorization}}'));
    expectOk(withCors('{allowOrigins: ["https://app.example.com"], allowCredentials: true}', '{cookie: {name: session}}'));
    expectOk(withCors('{allowOrigins: ["*"]}', '{cookie: {name: session}}'));
  });

  it('location errors', () => {
    const cases: Array<[string, string[]]> = [
      ['{expression: "request.headers[\'x-token\']"}', [`${JWT}.location.expression: not supported by Portcullis`]],
      ['{}', [`${JWT}.location: required: one of header, queryParameter, cookie`]],
      [
        '{header: {name: a}, cookie: {name: b}}',
        [`${JWT}.location: expected only one of header, queryParameter, cookie (found header, cookie)`],
      ],
      ['{header: {prefix: "Bearer "}}', [`${JWT}.location.header.name: required`]],
      ['{header: {name: "x token"}}', [`${JWT}.location.header.name: expected a header name`]],
      ['{header: {name: x-token, prefix: 3}}', [`${JWT}.location.header.prefix: expected a string`]],
      ['{header: {name: x-token, strip: true}}', [`${JWT}.location.header.strip: unknown key`]],
      ['{header: x-token}', [`${JWT}.location.header: expected a mapping`]],
      ['{header: }', [`${JWT}.location.header: required`]],
      ['{queryParameter: {name: ""}}', [`${JWT}.location.queryParameter.name: expected a non-empty string`]],
      ['{cookie: {name: "a;b"}}', [`${JWT}.location.cookie.name: expected a cookie name`]],
      ['Authorization', [`${JWT}.location: expected a mapping`]],
    ];
    for (const [location, want] of cases) assert.deepEqual(lines(load(`    location: ${location}`)), want, location);
  });

  it('validation options: defaults', () => {
    const p = policy('');
    assert.deepEqual([p?.requiredClaims, p?.leewaySeconds], [['exp'], 60]);
    const empty = policy('    jwtValidationOptions: {}');
    assert.deepEqual([empty?.requiredClaims, empty?.leewaySeconds], [['exp'], 60]);
  });

  it('requiredClaims: any claim, exp always kept, repeats dropped', () => {
    assert.deepEqual(policy('    jwtValidationOptions: {requiredClaims: [sub, aud]}')?.requiredClaims, ['exp', 'sub', 'aud']);
    assert.deepEqual(policy('    jwtValidationOptions: {requiredClaims: [nbf, exp, tenant_id, nbf]}')?.requiredClaims, [
      'exp',
      'nbf',
      'tenant_id',
    ]);
    assert.deepEqual(policy('    jwtValidationOptions: {requiredClaims: []}')?.requiredClaims, ['exp']);
  });

  it('leeway: a duration or an integer of seconds', () => {
    const leeway = (v: string) => policy(`    jwtValidationOptions: {leeway: ${v}}`)?.leewaySeconds;
    assert.equal(leeway('30s'), 30);
    assert.equal(leeway('2m'), 120);
    assert.equal(leeway('1h'), 3600);
    assert.equal(leeway('1m30s'), 90);
    assert.equal(leeway('2000ms'), 2);
    assert.equal(leeway('45'), 45);
    assert.equal(leeway('0'), 0);
    assert.equal(leeway('"0s"'), 0);
  });

  it('validation option errors', () => {
    const expected = 'expected whole seconds from 0 to 3600, as a duration such as 30s or 2m or as an integer';
    for (const v of ['2h', '3601', '-1', '1.5', '500ms', 'soon', '""', 'true', '[30]']) {
      assert.deepEqual(lines(load(`    jwtValidationOptions: {leeway: ${v}}`)), [`${JWT}.jwtValidationOptions.leeway: ${expected}`], v);
    }
    const opts = `${JWT}.jwtValidationOptions`;
    assert.deepEqual(lines(load('    jwtValidationOptions: {requiredClaims: exp}')), [`${opts}.requiredClaims: expected a list`]);
    assert.deepEqual(lines(load('    jwtValidationOptions: {requiredClaims: [sub, "", 7]}')), [
      `${opts}.requiredClaims[1]: expected a non-empty string`,
      `${opts}.requiredClaims[2]: expected a non-empty string`,
    ]);
    assert.deepEqual(lines(load('    jwtValidationOptions: {validateNbf: true}')), [`${opts}.validateNbf: unknown key`]);
    assert.deepEqual(lines(load('    jwtValidationOptions: [exp]')), [`${opts}: expected a mapping`]);
  });

  it('location and options go with the providers form too', () => {
    const t = withRoute(
      'policies:\n  jwtAuth:\n    location: {cookie: {name: at}}\n    jwtValidationOptions: {leeway: 5s, requiredClaims: [sub]}\n    providers:\n    - issuer: a\n      jwks: {file: jwks.json}',
    );
    const p = expectOk(loadConfigText(t, { cwd: cwd.dir, env: {} })).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth;
    assert.deepEqual([p?.location, p?.leewaySeconds, p?.requiredClaims, p?.providers.length], [
      { kind: 'cookie', name: 'at' },
      5,
      ['exp', 'sub'],
      1,
    ]);
  });
});

describe('jwks: OpenID discovery', () => {
  const load = (text: string) => loadConfigText(text, { cwd: '/', env: {} });
  const single = (body: string) => withRoute(`policies:\n  jwtAuth:\n${body}`);
  const providers = (text: string) => expectOk(load(text)).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth?.providers;

  it('{discovery: true} with an http(s) issuer', () => {
    assert.deepEqual(providers(single('    issuer: https://idp.example.com/realms/acme\n    jwks: {discovery: true}')), [
      { issuer: 'https://idp.example.com/realms/acme', audiences: null, jwksSource: { kind: 'discovery', tls: null }, keys: [] },
    ]);
  });

  it('no jwks and an http(s) issuer means discovery', () => {
    assert.deepEqual(providers(single('    issuer: http://localhost:4000\n    audiences: [api]')), [
      { issuer: 'http://localhost:4000', audiences: ['api'], jwksSource: { kind: 'discovery', tls: null }, keys: [] },
    ]);
    const multi = withRoute(
      'policies:\n  jwtAuth:\n    providers:\n    - issuer: https://a.example.com\n    - issuer: b\n      jwks: {url: "https://b.example.com/jwks"}',
    );
    assert.deepEqual(
      providers(multi)?.map((p) => p.jwksSource),
      [{ kind: 'discovery', tls: null }, { kind: 'url', url: 'https://b.example.com/jwks', tls: null }],
    );
  });

  it('errors', () => {
    assert.deepEqual(lines(load(single('    issuer: acme'))), [`${JWT}.jwks: required (or an http(s) issuer for OpenID discovery)`]);
    assert.deepEqual(lines(load(single('    issuer: acme\n    jwks:'))), [`${JWT}.jwks: required (or an http(s) issuer for OpenID discovery)`]);
    assert.deepEqual(lines(load(withRoute('policies:\n  jwtAuth:\n    providers:\n    - issuer: "urn:acme"'))), [
      `${JWT}.providers[0].jwks: required (or an http(s) issuer for OpenID discovery)`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: acme\n    jwks: {discovery: true}'))), [
      `${JWT}.jwks.discovery: OpenID discovery needs an http(s) issuer URL (got "acme")`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: https://idp.example.com\n    jwks: {discovery: false}'))), [
      `${JWT}.jwks.discovery: expected true (for keys from a file, a URL or inline, give those instead)`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: https://idp.example.com\n    jwks: {discovery: yes}'))), [
      `${JWT}.jwks.discovery: expected true`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: https://idp.example.com\n    jwks: {discovery: true, url: "https://idp.example.com/jwks"}'))), [
      `${JWT}.jwks: expected only one of file, url, discovery (found url, discovery)`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: https://idp.example.com\n    jwks: 42'))), [
      `${JWT}.jwks: expected {file: <path>}, {url: <https URL>}, {discovery: true} or inline JWKS JSON text`,
    ]);
    assert.deepEqual(lines(load(single('    issuer: https://idp.example.com\n    jwks: {url: "ftp://idp.example.com/jwks"}'))), [
      `${JWT}.jwks.url: expected an http or https URL`,
    ]);
  });
});
