// Route policy `mcpAuthentication`: HEAD and v0.10.5 spellings, defaults, and every error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { McpAuthenticationPolicy } from '../../../src/main/config/types.js';
import { ONE_BACKEND, ROUTE, type TempCwd, ecJwk, expectOk, lines, tempCwd, withRoute } from './fixtures.js';

const AUTH = `${ROUTE}.policies.mcpAuthentication`;
const IDP = 'https://idp.example.com/realms/acme';

describe('mcpAuthentication', () => {
  let cwd: TempCwd;
  const jwk = ecJwk('k1');
  before(() => {
    cwd = tempCwd();
    cwd.writeJwks('jwks.json', [jwk]);
  });
  after(() => cwd.remove());

  /** A route with mcpAuthentication (body at 4 spaces) and one backend. */
  const text = (body: string) => withRoute(`policies:\n  mcpAuthentication:\n${body}\n${ONE_BACKEND}`);
  const load = (body: string) => loadConfigText(text(body), { cwd: cwd.dir, env: {} });
  const policy = (body: string): McpAuthenticationPolicy | null | undefined =>
    expectOk(load(body)).binds[0]?.listeners[0]?.routes[0]?.policies.mcpAuthentication;

  it('an issuer alone: discovery, strict, no audience check, no metadata', () => {
    assert.deepEqual(policy(`    issuer: ${IDP}`), {
      issuer: IDP,
      audiences: null,
      jwksSource: { kind: 'discovery', tls: null },
      keys: [],
      mode: 'strict',
      resourceMetadata: {},
      scopes: [],
    });
  });

  it('the HEAD form', () => {
    const body = [
      `    issuer: ${IDP}`,
      '    audiences: [mcp.example.com, other]',
      '    jwks: {url: "https://idp.example.com/certs"}',
      '    mode: optional',
      '    resourceMetadata:',
      '      resource: https://mcp.example.com/mcp',
      '      scopesSupported: [mcp.read, mcp.write]',
      '      bearerMethodsSupported: [header]',
      '      resourceDocumentation: {url: "https://docs.example.com", pages: [1, 2.5, true, null]}',
    ].join('\n');
    assert.deepEqual(policy(body), {
      issuer: IDP,
      audiences: ['mcp.example.com', 'other'],
      jwksSource: { kind: 'url', url: 'https://idp.example.com/certs', tls: null },
      keys: [],
      mode: 'optional',
      resourceMetadata: {
        resource: 'https://mcp.example.com/mcp',
        scopesSupported: ['mcp.read', 'mcp.write'],
        bearerMethodsSupported: ['header'],
        resourceDocumentation: { url: 'https://docs.example.com', pages: [1, 2.5, true, null] },
      },
      scopes: ['mcp.read', 'mcp.write'],
    });
  });

  it('the v0.10.5 form: audience and jwksUrl', () => {
    const p = policy(`    issuer: ${IDP}\n    audience: mcp.example.com\n    jwksUrl: "${IDP}/protocol/openid-connect/certs"`);
    assert.deepEqual([p?.audiences, p?.jwksSource], [['mcp.example.com'], { kind: 'url', url: `${IDP}/protocol/openid-connect/certs`, tls: null }]);
    const empty = policy(`    issuer: ${IDP}\n    audience: mcp.example.com\n    jwksUrl: ""`);
    assert.deepEqual(empty?.jwksSource, { kind: 'discovery', tls: null });
    assert.deepEqual(policy(`    issuer: ${IDP}\n    jwksUrl:`)?.jwksSource, { kind: 'discovery', tls: null });
  });

  it('jwks: file, inline and discovery forms, like jwtAuth', () => {
    const file = policy('    issuer: acme\n    jwks: {file: jwks.json}');
    assert.deepEqual(file?.jwksSource, { kind: 'file', path: join(cwd.dir, 'jwks.json') });
    assert.deepEqual(file?.keys.map((k) => k.kid), ['k1']);
    const inline = policy(`    issuer: acme\n    jwks: '${JSON.stringify({ keys: [jwk] })}'`);
    assert.deepEqual([inline?.jwksSource, inline?.keys.length], [{ kind: 'inline' }, 1]);
    assert.deepEqual(policy(`    issuer: ${IDP}\n    jwks: {discovery: true}`)?.jwksSource, { kind: 'discovery', tls: null });
  });

  it('an empty audiences list turns the audience check off', () => {
    assert.equal(policy(`    issuer: ${IDP}\n    audiences: []`)?.audiences, null);
  });

  it('resourceMetadata is kept as written; scopes_supported works too', () => {
    const p = policy(`    issuer: ${IDP}\n    resourceMetadata: {scopes_supported: [a], __proto__: {x: 1}}`);
    assert.deepEqual(p?.scopes, ['a']);
    assert.deepEqual(Object.keys(p?.resourceMetadata ?? {}), ['scopes_supported', '__proto__']);
    assert.equal(Object.getPrototypeOf(p?.resourceMetadata), Object.prototype);
  });

  it('errors in the policy', () => {
    const cases: Array<[string, string[]]> = [
      ['    audiences: [a]', [`${AUTH}.issuer: required`, `${AUTH}.jwks: required (or an http(s) issuer for OpenID discovery)`]],
      ['    issuer: ""\n    jwksUrl: "https://x.example.com/jwks"', [`${AUTH}.issuer: expected a non-empty string`]],
      ['    issuer: acme', [`${AUTH}.jwks: required (or an http(s) issuer for OpenID discovery)`]],
      ['    issuer: acme\n    jwksUrl: ""', [`${AUTH}.jwksUrl: OpenID discovery needs an http(s) issuer URL (got "acme")`]],
      ['    issuer: acme\n    jwks: {discovery: true}', [`${AUTH}.jwks.discovery: OpenID discovery needs an http(s) issuer URL (got "acme")`]],
      [`    issuer: ${IDP}\n    jwksUrl: not-a-url`, [`${AUTH}.jwksUrl: expected an http or https URL`]],
      [`    issuer: ${IDP}\n    jwksUrl: [x]`, [`${AUTH}.jwksUrl: expected a string`]],
      [
        `    issuer: ${IDP}\n    jwks: {url: "https://a.example.com/jwks"}\n    jwksUrl: "https://b.example.com/jwks"`,
        [`${AUTH}.jwksUrl: not allowed next to jwks (jwksUrl is the v0.10.5 spelling of jwks: {url: ...})`],
      ],
      [
        `    issuer: ${IDP}\n    audiences: [a]\n    audience: b`,
        [`${AUTH}.audience: not allowed next to audiences (audience is the v0.10.5 spelling of audiences: [<one>])`],
      ],
      [`    issuer: ${IDP}\n    audience: ""`, [`${AUTH}.audience: expected a non-empty string`]],
      [`    issuer: ${IDP}\n    audiences: a`, [`${AUTH}.audiences: expected a list`]],
      [`    issuer: ${IDP}\n    mode: lenient`, [`${AUTH}.mode: expected one of strict, optional, permissive`]],
      [`    issuer: ${IDP}\n    provider: {keycloak: {}}`, [`${AUTH}.provider: not supported by Portcullis`]],
      [`    issuer: ${IDP}\n    authorizationLocation: {header: {name: x}}`, [`${AUTH}.authorizationLocation: not supported by Portcullis`]],
      [`    issuer: ${IDP}\n    jwtValidationOptions: {requiredClaims: [sub]}`, [`${AUTH}.jwtValidationOptions: not supported by Portcullis`]],
      [
        `    issuer: ${IDP}\n    clientId: portcullis\n    clientSecret: s3cret`,
        [`${AUTH}.clientId: not supported by Portcullis`, `${AUTH}.clientSecret: not supported by Portcullis`],
      ],
      [`    issuer: ${IDP}\n    scopes: [a]`, [`${AUTH}.scopes: unknown key`]],
    ];
    for (const [body, want] of cases) assert.deepEqual(lines(load(body)), want, body);
    assert.deepEqual(lines(loadConfigText(withRoute(`policies:\n  mcpAuthentication: ${IDP}\n${ONE_BACKEND}`), { cwd: cwd.dir, env: {} })), [
      `${AUTH}: expected a mapping`,
    ]);
  });

  it('errors in resourceMetadata', () => {
    const md = `${AUTH}.resourceMetadata`;
    const cases: Array<[string, string[]]> = [
      ['[a]', [`${md}: expected a mapping`]],
      ['{scopesSupported: read}', [`${md}.scopesSupported: expected a list`]],
      ['{scopesSupported: [read, 7]}', [`${md}.scopesSupported[1]: expected a string`]],
      ['{resource: "mcp.example.com"}', [`${md}.resource: expected an http or https URL (the protected resource)`]],
      ['{resource: 42}', [`${md}.resource: expected an http or https URL (the protected resource)`]],
      [
        '{scopesSupported: [a], scopes_supported: [b]}',
        [`${md}.scopes_supported: names the same metadata member as "scopesSupported" (scopes_supported; keys are converted to snake_case)`],
      ],
      ['{logo: !!binary aGk=}', [`${md}.logo: expected plain data (strings, numbers, booleans, null, lists and mappings)`]],
      ['{tags: !!set {a, b}}', [`${md}.tags: expected plain data (strings, numbers, booleans, null, lists and mappings)`]],
      ['{deep: {list: [1, .inf]}}', [`${md}.deep.list[1]: expected a finite number`]],
    ];
    for (const [metadata, want] of cases) assert.deepEqual(lines(load(`    issuer: ${IDP}\n    resourceMetadata: ${metadata}`)), want, metadata);
  });

  it('cannot be combined with jwtAuth on one route', () => {
    const t = withRoute(
      `policies:\n  jwtAuth:\n    issuer: ${IDP}\n  mcpAuthentication:\n    issuer: ${IDP}\n${ONE_BACKEND}`,
    );
    assert.deepEqual(lines(loadConfigText(t, { cwd: cwd.dir, env: {} })), [
      `${AUTH}: cannot be combined with jwtAuth on the same route (mcpAuthentication brings its own JWT policy)`,
    ]);
  });

  it('is a backend policy: the route needs exactly one backend', () => {
    const t = withRoute(`policies:\n  mcpAuthentication:\n    issuer: ${IDP}`);
    assert.deepEqual(lines(loadConfigText(t, { cwd: cwd.dir, env: {} })), [
      `${ROUTE}.backends: backend policies currently only work with exactly 1 backend`,
    ]);
  });
});
