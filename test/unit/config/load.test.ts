import { NO_BACKEND_POLICIES } from '../../../src/main/config/read-backend-policies.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { formatIssues, loadConfigFile, loadConfigText } from '../../../src/main/config/load.js';
import type { RouteConfig } from '../../../src/main/config/types.js';
import {
  JWT_DEFAULTS,
  LAB_JWTAUTH,
  NO_MCP_AUTHENTICATION,
  LAB_MCP_AUTHZ,
  ROUTE,
  type TempCwd,
  ecJwk,
  expectIssues,
  expectOk,
  lines,
  member,
  readLab,
  tempCwd,
  withRoute,
} from './fixtures.js';

const env = {};

describe('lab configs', () => {
  let cwd: TempCwd;
  const jwk = ecJwk('lab-key', { use: 'sig', alg: 'ES256' }); // the shape `step crypto jwk keyset add` writes
  before(() => {
    cwd = tempCwd();
    cwd.writeJwks('jwks-keyset', [jwk]);
  });
  after(() => cwd.remove());

  const expectedRoute = (mcpAuthorization: RouteConfig['policies']['mcpAuthorization']): RouteConfig => ({
    name: 'route0',
    named: false,
    ruleName: 'default',
    ruleKey: 'route0/default',
    hostnames: [],
    matches: [{ path: { kind: 'prefix', value: '/' }, method: null, headers: [], query: [] }],
    policies: {
      ...NO_MCP_AUTHENTICATION,
      cors: {
        allowCredentials: false,
        allowHeaders: { any: true },
        allowMethods: { any: false, values: [] },
        allowOrigins: { any: true },
        exposeHeaders: { any: false, values: [] },
        maxAge: null,
      },
      jwtAuth: {
        ...JWT_DEFAULTS,
        mode: 'strict',
        providers: [
          {
            issuer: 'acme@example.com',
            audiences: ['mcp.example.com'],
            jwksSource: { kind: 'file', path: join(cwd.dir, 'jwks-keyset') },
            keys: [{ kty: 'EC', kid: 'lab-key', alg: 'ES256', use: 'sig', crv: 'P-256', x: member(jwk, 'x'), y: member(jwk, 'y') }],
          },
        ],
      },
      authorization: null,
      mcpAuthorization,
      backendAuth: null,
      requestHeaderModifier: null,
      responseHeaderModifier: null,
      transformations: null,
      timeout: null,
      retry: null,
      localRateLimit: null,
      backendTls: null,
    },
    backends: [
      {
        kind: 'mcp',
        weight: 1,
        policies: NO_BACKEND_POLICIES,
        targets: [{ name: 'mcp', kind: 'mcp', url: 'http://localhost:8000/mcp', policies: NO_BACKEND_POLICIES }],
        statefulMode: 'stateful',
        prefixMode: 'conditional',
      },
    ],
  });

  it('ag-jwtauth-config.yaml loads into the normalised config', () => {
    const config = expectOk(loadConfigFile(LAB_JWTAUTH, { cwd: cwd.dir, env }));
    assert.deepEqual(config.binds, [
      {
        port: 9000,
        name: 'bind/9000',
        protocol: 'HTTP',
        listeners: [{ name: 'listener0', named: false, gatewayName: 'bind/9000', hostname: null, tls: null, routes: [expectedRoute(null)] }],
      },
    ]);
  });

  it('ag-mcp-authorization.yaml loads with its CEL rule', () => {
    const config = expectOk(loadConfigFile(LAB_MCP_AUTHZ, { cwd: cwd.dir, env }));
    const route = config.binds[0]?.listeners[0]?.routes[0];
    assert.deepEqual(
      route,
      expectedRoute({
        rules: [
          {
            kind: 'allow',
            expr: 'mcp.tool.name == "echo" && "admin" in jwt.roles',
            path: `${ROUTE}.policies.mcpAuthorization.rules[0]`,
          },
        ],
      }),
    );
  });

  it('runtime settings take their defaults', () => {
    const { runtime } = expectOk(loadConfigFile(LAB_JWTAUTH, { cwd: cwd.dir, env }));
    assert.ok(runtime.workers >= 1 && runtime.workers <= 4);
    assert.deepEqual(
      { ...runtime, workers: 1 },
      {
        workers: 1,
        logFormat: 'text',
        logging: { filter: null, add: [], remove: [], level: [] },
        maxBodyBytes: 2_097_152,
        listCacheBytes: 16 * 1024 * 1024,
        bufferBudgetBytes: 256 * 1024 * 1024,
        adminAddr: 'localhost:15000',
        statsAddr: '[::]:15020',
        readinessAddr: '[::]:15021',
        sessionKey: null,
        upstreamCallsPerCaller: 64,
        upstreamStreamsPerCaller: 64,
        tracing: null,
        upstreamClient: 'portcullis',
      },
    );
  });

  it('the JWKS file is read relative to opts.cwd, not the config file', () => {
    const elsewhere = tempCwd();
    try {
      const issues = lines(loadConfigText(readLab(LAB_JWTAUTH), { cwd: elsewhere.dir, env }));
      assert.equal(issues.length, 1);
      assert.match(issues[0] ?? '', /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.jwtAuth\.jwks\.file: failed to load JWKS: ENOENT/);
    } finally {
      elsewhere.remove();
    }
  });
});

describe('schema errors name the path', () => {
  let cwd: TempCwd;
  before(() => {
    cwd = tempCwd();
    cwd.writeJwks('jwks.json', [ecJwk('k1')]);
  });
  after(() => cwd.remove());
  const load = (text: string) => loadConfigText(text, { cwd: cwd.dir, env });
  const jwt = (extra: string) => withRoute(`policies:\n  jwtAuth:\n    issuer: me\n    jwks: {file: jwks.json}\n${extra}`);

  it('unknown key', () => {
    assert.deepEqual(lines(load(jwt('    foo: 1'))), [`${ROUTE}.policies.jwtAuth.foo: unknown key`]);
  });

  it('keys spelling Object.prototype members: unknown keys where the keys are fixed, data where the map is free', () => {
    const text = [
      '__proto__: {binds: []}',
      'constructor: 1',
      'binds:',
      '- port: 9000',
      '  toString: x',
      '  listeners:',
      '  - routes:',
      '    - policies:',
      '        __proto__: {jwtAuth: {}}',
      '        mcpAuthorization: {rules: ["true"], constructor: 2}',
      '      backends:',
      '      - mcp: {targets: [{name: a, hasOwnProperty: 1, stdio: {cmd: x}}]}',
    ].join('\n');
    assert.deepEqual(lines(load(text)), [
      '__proto__: unknown key',
      'constructor: unknown key',
      'binds[0].toString: unknown key',
      `${ROUTE}.policies.__proto__: unknown key`,
      `${ROUTE}.policies.mcpAuthorization.constructor: unknown key`,
      `${ROUTE}.backends[0].mcp.targets[0].hasOwnProperty: unknown key`,
    ]);
    const env = withRoute('backends:\n- mcp: {targets: [{name: a, stdio: {cmd: x, env: {__proto__: p, constructor: c}}}]}');
    const target = expectOk(load(env)).binds[0]?.listeners[0]?.routes[0]?.backends[0]?.targets[0];
    assert.ok(target?.kind === 'stdio');
    assert.deepEqual(Object.entries(target.env), [['__proto__', 'p'], ['constructor', 'c']]);
  });

  it('bad jwtAuth mode', () => {
    assert.deepEqual(lines(load(jwt('    mode: strictest'))), [
      `${ROUTE}.policies.jwtAuth.mode: expected one of strict, optional, permissive`,
    ]);
  });

  it('jwtAuth defaults: optional mode, no audience check', () => {
    const policy = expectOk(load(jwt(''))).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth;
    assert.equal(policy?.mode, 'optional');
    assert.equal(policy?.providers[0]?.audiences, null);
    assert.equal(policy?.providers[0]?.keys[0]?.kid, 'k1');
    assert.deepEqual({ ...policy, providers: [] }, { ...JWT_DEFAULTS, mode: 'optional', providers: [] });
  });

  it('providers form, and mixing it with the single-issuer form', () => {
    const ok = withRoute(
      'policies:\n  jwtAuth:\n    mode: permissive\n    providers:\n    - issuer: a\n      audiences: [x]\n      jwks: {file: jwks.json}\n    - issuer: b\n      jwks: {url: "https://idp.example.com/jwks"}',
    );
    const policy = expectOk(load(ok)).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth;
    assert.equal(policy?.providers.length, 2);
    assert.deepEqual(policy?.providers[1], {
      issuer: 'b',
      audiences: null,
      jwksSource: { kind: 'url', url: 'https://idp.example.com/jwks', tls: null },
      keys: [],
    });

    const mixed = withRoute('policies:\n  jwtAuth:\n    issuer: a\n    providers: []');
    assert.deepEqual(lines(load(mixed)), [
      `${ROUTE}.policies.jwtAuth.issuer: not allowed next to providers (move it into a provider)`,
      `${ROUTE}.policies.jwtAuth.providers: expected at least one provider`,
    ]);
  });

  it('policies agentgateway has but Portcullis does not', () => {
    const text = withRoute('policies:\n  extAuthz: {}\n  csrf: {}\n  backendAuth: {gcp: {}}');
    // Issues come in document order; `backends` is absent, so its issue sorts at the route.
    assert.deepEqual(lines(load(text)), [
      `${ROUTE}.backends: backend policies currently only work with exactly 1 backend`,
      `${ROUTE}.policies.extAuthz: not supported by Portcullis`,
      `${ROUTE}.policies.csrf: not supported by Portcullis`,
      `${ROUTE}.policies.backendAuth.gcp: not supported by Portcullis`,
    ]);
  });

  it('top-level, listener and backend kinds that are not supported', () => {
    const text = [
      'llm: {}',
      'binds:',
      '- port: 9000',
      '  listeners:',
      '  - protocol: TLS',
      '    tcpRoutes: []',
      '    routes:',
      '    - backends:',
      '      - host: localhost:8080',
      '      - mcp:',
      '          targets:',
      '          - name: api',
      '            openapi: {host: x}',
      '',
    ].join('\n');
    assert.deepEqual(lines(load(text)), [
      'llm: not supported by Portcullis',
      'binds[0].listeners[0].protocol: not supported by Portcullis',
      'binds[0].listeners[0].tcpRoutes: not supported by Portcullis',
      `${ROUTE}.backends[0].host: not supported by Portcullis`,
      `${ROUTE}.backends[1].mcp.targets[0].openapi: not supported by Portcullis`,
    ]);
  });

  it('bad values say what was expected', () => {
    const text = [
      'binds:',
      '- port: 70000',
      '  listeners:',
      '  - hostname: [a]',
      '    routes:',
      '    - hostnames: example.com',
      '      policies:',
      '        cors: {maxAge: soon, allowOrigins: ["https://ok.example", "not an origin"]}',
      '      backends:',
      '      - mcp: {targets: [{name: a, mcp: {host: "ftp://x"}}], statefulMode: sometimes}',
      '- listeners: []',
      '',
    ].join('\n');
    assert.deepEqual(lines(load(text)), [
      'binds[0].port: expected an integer from 0 to 65535',
      'binds[0].listeners[0].hostname: expected a non-empty string',
      `${ROUTE}.hostnames: expected a list`,
      `${ROUTE}.policies.cors.maxAge: expected a duration such as 30s, 10m or 1h30m`,
      `${ROUTE}.policies.cors.allowOrigins[1]: expected "*" or an origin such as https://example.com or http://localhost:3000 (no path)`,
      `${ROUTE}.backends[0].mcp.targets[0].mcp.host: expected an http or https URL (or a host name together with port and path)`,
      `${ROUTE}.backends[0].mcp.statefulMode: expected one of stateful, stateless`,
      'binds[1].port: required',
    ]);
  });

  it('routes are required on a listener; port 0 is allowed', () => {
    assert.deepEqual(lines(load('binds:\n- port: 0\n  listeners:\n  - name: l\n')), ['binds[0].listeners[0].routes: required']);
    assert.equal(expectOk(load('binds:\n- port: 0\n  listeners: []\n')).binds[0]?.name, 'bind/0');
  });

  it('a second bind on port 0 is an error: both would be bind/0, and the gateway keys binds by name', () => {
    assert.deepEqual(lines(load('binds:\n- port: 0\n  listeners: []\n- port: 0\n  listeners: []\n')), [
      'binds[1].port: port 0 is already used by binds[0] (both binds would be named bind/0; put the listeners in one bind)',
    ]);
  });

  it('several issues are collected at once', () => {
    const text = [
      'bindz: []',
      'binds:',
      '- port: 9000',
      '  listeners:',
      '  - routes:',
      '    - policies:',
      '        jwtAuth: {mode: never, issuer: x, jwks: {file: missing.json}}',
      '        mcpAuthorization:',
      '          rules:',
      '          - "mcp.tool.name == "',
      '          - deny: "jwt.sub == \'x\'"',
      '          - require: "("',
      '      backends: []',
      '',
    ].join('\n');
    const got = lines(load(text));
    assert.deepEqual(got.slice(0, 3), [
      'bindz: unknown key',
      `${ROUTE}.policies.jwtAuth.mode: expected one of strict, optional, permissive`,
      `${ROUTE}.policies.jwtAuth.jwks.file: failed to load JWKS: ENOENT: no such file or directory, open '${join(cwd.dir, 'missing.json')}'`,
    ]);
    assert.match(got[3] ?? '', /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.mcpAuthorization\.rules\[0\]: invalid CEL expression: /);
    assert.match(got[4] ?? '', /\.mcpAuthorization\.rules\[2\]\.require: invalid CEL expression: /);
    assert.equal(got[5], `${ROUTE}.backends: backend policies currently only work with exactly 1 backend`);
    assert.equal(got.length, 6);
  });

  it('CEL syntax error names the rule path', () => {
    const text = withRoute(
      'policies:\n  mcpAuthorization:\n    rules:\n    - "true"\n    - "mcp.tool.name == "\nbackends:\n- mcp: {targets: [{name: t, mcp: {host: "http://localhost:1/mcp"}}]}',
    );
    const issues = expectIssues(load(text));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, `${ROUTE}.policies.mcpAuthorization.rules[1]`);
    assert.equal(issues[0]?.message, 'invalid CEL expression: Unexpected token: EOF');
  });

  it('rule kinds', () => {
    const text = withRoute(
      'policies:\n  authorization:\n    rules:\n    - "true"\n    - deny: "false"\n    - require: "jwt.sub != \'\'"\n    - {allow: "true", deny: "true"}\n    - 42',
    );
    assert.deepEqual(lines(load(text)), [
      `${ROUTE}.policies.authorization.rules[3]: expected only one of allow, deny, require (found allow, deny)`,
      `${ROUTE}.policies.authorization.rules[4]: expected a CEL expression string, or one of {allow: ...}, {deny: ...}, {require: ...}`,
    ]);
    const ok = withRoute('policies:\n  authorization:\n    rules:\n    - "true"\n    - deny: "false"\n    - require: "jwt.sub != \'\'"');
    const rules = expectOk(load(ok)).binds[0]?.listeners[0]?.routes[0]?.policies.authorization?.rules;
    assert.deepEqual(
      rules?.map((r) => [r.kind, r.expr, r.path]),
      [
        ['allow', 'true', `${ROUTE}.policies.authorization.rules[0]`],
        ['deny', 'false', `${ROUTE}.policies.authorization.rules[1]`],
        ['require', "jwt.sub != ''", `${ROUTE}.policies.authorization.rules[2]`],
      ],
    );
  });

  it('YAML syntax errors carry line and column', () => {
    const issues = expectIssues(load('binds:\n- port: 9000\n  listeners: [\n'));
    assert.ok(issues.length >= 1);
    assert.match(issues[0]?.path ?? '', /^line \d+, column \d+$/);
    assert.doesNotMatch(issues[0]?.message ?? '', /\n/);
    const dup = expectIssues(load('binds: []\nbinds: []\n'));
    assert.deepEqual(dup, [{ path: 'line 2, column 1', message: 'Map keys must be unique' }]);
  });

  it('an empty document or {} is a config with no binds', () => {
    for (const text of ['', '# nothing\n', '{}']) assert.deepEqual(expectOk(load(text)).binds, []);
    assert.deepEqual(lines(load('- a\n')), ['<root>: expected a mapping']);
  });

  it('never throws for bad input', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => {
      const prev = i === 0 ? 'a' : `b${i - 1}`;
      return `b${i}: &b${i} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
    })].join('\n');
    for (const text of [bomb, '\u0000', 'binds: [{port: 1, listeners: [{routes: [{policies: {jwtAuth: {jwks: {}}}}]}]}]', 'binds: {}', 'binds: [null, 3, "x"]']) {
      const result = load(text);
      assert.equal(result.ok, false, text);
    }
    assert.deepEqual(lines(load('binds: [null, 3]')), ['binds[0]: expected a mapping', 'binds[1]: expected a mapping']);
  });

  it('formatIssues prints one line per issue', () => {
    assert.equal(
      formatIssues([
        { path: 'a.b', message: 'unknown key' },
        { path: '<file>', message: 'x' },
      ]),
      'a.b: unknown key\n<file>: x',
    );
  });

  it('a config file that cannot be read', () => {
    const issues = expectIssues(loadConfigFile(join(cwd.dir, 'nope.yaml'), { cwd: cwd.dir, env }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, '<file>');
    assert.match(issues[0]?.message ?? '', /ENOENT/);
  });
});

describe('routes, matches and backends', () => {
  const load = (text: string) => loadConfigText(text, { cwd: '/', env });
  const route = (text: string): RouteConfig | undefined => expectOk(load(text)).binds[0]?.listeners[0]?.routes[0];

  it('matches', () => {
    const r = route(
      withRoute(
        [
          'name: api',
          'ruleName: r1',
          'hostnames: ["*.example.com"]',
          'matches:',
          '- path: {exact: /mcp}',
          '  method: POST',
          '  headers: [{name: x-team, value: {regex: "^a+$"}}]',
          '  query: [{name: v, value: {exact: "1"}}]',
          '- path: {regex: ["/v[0-9]+/mcp", 10]}',
          '- method: GET',
        ].join('\n'),
      ),
    );
    assert.equal(r?.name, 'api');
    assert.equal(r?.ruleName, 'r1');
    assert.deepEqual(r?.hostnames, ['*.example.com']);
    assert.deepEqual(r?.matches, [
      {
        path: { kind: 'exact', value: '/mcp' },
        method: 'POST',
        headers: [{ name: 'x-team', value: { kind: 'regex', value: '^a+$' } }],
        query: [{ name: 'v', value: { kind: 'exact', value: '1' } }],
      },
      { path: { kind: 'regex', value: '/v[0-9]+/mcp' }, method: null, headers: [], query: [] },
      { path: { kind: 'prefix', value: '/' }, method: 'GET', headers: [], query: [] },
    ]);
  });

  it('bad matches', () => {
    const text = withRoute(
      [
        'matches:',
        '- path: {exact: /a, pathPrefix: /b}',
        '- path: {regex: ["(", 1]}',
        '- path: {pathPrefix: nope}',
        '- headers: [{name: "bad header", value: {exact: x}}]',
        '- path: {regex: "/x"}',
      ].join('\n'),
    );
    const got = lines(load(text));
    assert.equal(got[0], `${ROUTE}.matches[0].path: expected only one of exact, pathPrefix, regex (found exact, pathPrefix)`);
    assert.match(got[1] ?? '', /^binds\[0\]\.listeners\[0\]\.routes\[0\]\.matches\[1\]\.path\.regex\[0\]: invalid regular expression: /);
    assert.deepEqual(got.slice(2), [
      `${ROUTE}.matches[2].path.pathPrefix: expected a path starting with "/"`,
      `${ROUTE}.matches[3].headers[0].name: expected a header name`,
      `${ROUTE}.matches[4].path.regex: expected [pattern, length] (a string and an integer)`,
    ]);
  });

  it('target forms', () => {
    const r = route(
      withRoute(
        [
          'backends:',
          '- weight: 3',
          '  mcp:',
          '    statefulMode: stateless',
          '    prefixMode: always',
          '    targets:',
          '    - name: a',
          '      mcp: {host: localhost, port: 3000, path: ""}',
          '    - name: b',
          '      sse: {host: "::1", port: 3001, path: ""}',
          '    - name: c',
          '      sse: {host: "https://up.example.com/events"}',
          '    - name: d',
          '      stdio: {cmd: npx, args: ["-y", "server"], env: {TOKEN: x}}',
        ].join('\n'),
      ),
    );
    assert.deepEqual(r?.backends, [
      {
        kind: 'mcp',
        weight: 3,
        policies: NO_BACKEND_POLICIES,
        statefulMode: 'stateless',
        prefixMode: 'always',
        targets: [
          { name: 'a', kind: 'mcp', url: 'http://localhost:3000/mcp', policies: NO_BACKEND_POLICIES },
          { name: 'b', kind: 'sse', url: 'http://[::1]:3001/sse', policies: NO_BACKEND_POLICIES },
          { name: 'c', kind: 'sse', url: 'https://up.example.com/events', policies: NO_BACKEND_POLICIES },
          { name: 'd', kind: 'stdio', cmd: 'npx', args: ['-y', 'server'], env: { TOKEN: 'x' } },
        ],
      },
    ]);
  });

  it('target names and host forms are checked', () => {
    const text = withRoute(
      [
        'backends:',
        '- mcp:',
        '    targets:',
        '    - name: my_server',
        '      mcp: {host: "http://a/mcp"}',
        '    - name: my_server',
        '      mcp: {host: localhost, port: 80}',
        '    - name: ""',
        '      stdio: {cmd: x}',
        '    - name: e',
        '      mcp: {host: "http://a"}',
        '      sse: {host: "http://a"}',
      ].join('\n'),
    );
    const why = 'must not contain "_" when the backend has several targets or prefixMode is always: names are exposed as <target>_<name> and split at the first "_"';
    const t = `${ROUTE}.backends[0].mcp.targets`;
    assert.deepEqual(lines(load(text)), [
      `${t}[0].name: ${why}`,
      `${t}[1].mcp: if port or path is set, both must be set; otherwise, use only host`,
      `${t}[2].name: expected a non-empty string`,
      `${t}[3]: expected only one of mcp, sse, stdio (found mcp, sse)`,
    ]);
    const dup = withRoute('backends:\n- mcp:\n    targets:\n    - {name: a, mcp: {host: "http://x/"}}\n    - {name: a, mcp: {host: "http://y/"}}');
    assert.deepEqual(lines(load(dup)), [`${t}[1].name: duplicate target name "a" (also ${t}[0])`]);
    // One target with the default prefix mode: names are not split, so "_" is fine.
    assert.ok(route(withRoute('backends:\n- mcp:\n    targets:\n    - {name: my_server, mcp: {host: "http://x/mcp"}}')));
  });

  it('two routes of a listener, or two listeners of a bind, may not share a name (with its ruleName / gatewayName)', () => {
    const backends = 'backends: [{mcp: {targets: [{name: mcp, mcp: {host: "http://x/mcp"}}]}}]';
    const routes = (...items: string[]): string => `binds:\n- port: 9000\n  listeners:\n  - routes:\n${items.map((i) => `    - {${i}, ${backends}}`).join('\n')}\n`;
    const at = 'binds[0].listeners[0].routes';
    assert.deepEqual(lines(load(routes('name: shared', 'name: other', 'name: shared'))), [`${at}[2].name: "shared" is already the name of routes[0]`]);
    assert.deepEqual(lines(load(routes('name: shared, ruleName: r', 'name: shared, ruleName: r'))), [
      `${at}[1].name: "shared" with ruleName "r" is already the name of routes[0]`,
    ]);
    // agentgateway v0.10.5 keys a route by name and ruleName: these are two routes there too.
    assert.equal(expectOk(load(routes('name: shared, ruleName: r1', 'name: shared, ruleName: r2'))).binds[0]?.listeners[0]?.routes.length, 2);
    // A default name counts: the unnamed routes[1] is route1.
    assert.deepEqual(lines(load(routes('name: route1', 'hostnames: []'))), [`${at}[1]: its default name "route1" is already the name of routes[0]`]);

    const listeners = (...items: string[]): string =>
      `binds:\n- port: 9000\n  listeners:\n${items.map((i) => `  - {${i}, routes: [{${backends}}]}`).join('\n')}\n`;
    assert.deepEqual(lines(load(listeners('name: l', 'name: l'))), ['binds[0].listeners[1].name: "l" is already the name of listeners[0]']);
    assert.deepEqual(lines(load(listeners('name: listener1', 'hostname: b.example.com'))), [
      'binds[0].listeners[1]: its default name "listener1" is already the name of listeners[0]',
    ]);
    assert.equal(expectOk(load(listeners('name: l, gatewayName: g1', 'name: l, gatewayName: g2'))).binds[0]?.listeners.length, 2);
    // Names are per listener, and per bind.
    const twoListeners = `binds:\n- port: 9000\n  listeners:\n  - {hostname: a.example.com, routes: [{name: r, ${backends}}]}\n  - {hostname: b.example.com, routes: [{name: r, ${backends}}]}\n`;
    assert.equal(expectOk(load(twoListeners)).binds[0]?.listeners.length, 2);
  });

  it('backendAuth passthrough', () => {
    const r = route(withRoute('policies:\n  backendAuth: {passthrough: {}}\nbackends:\n- mcp: {targets: [{name: t, mcp: {host: "http://x/mcp"}}]}'));
    assert.deepEqual(r?.policies.backendAuth, { kind: 'passthrough', location: { kind: 'header', name: 'authorization', prefix: 'Bearer ' }, credentials: [] });
  });

  it('cors: a wildcard origin (agentgateway HEAD matches it against hosts) is not supported rather than compared as text', () => {
    const text = withRoute('policies:\n  cors:\n    allowOrigins: ["https://*.example.com", "https://app.example.com"]');
    assert.deepEqual(lines(loadConfigText(text, { cwd: '/', env })), [
      `${ROUTE}.policies.cors.allowOrigins[0]: wildcard origins are not supported by Portcullis; list each origin (or "*" for any)`,
    ]);
  });

  it('cors lists, methods and maxAge', () => {
    const r = route(
      withRoute(
        'policies:\n  cors:\n    allowCredentials: true\n    allowMethods: [GET, POST]\n    allowOrigins: ["http://localhost:6274"]\n    exposeHeaders: [Mcp-Session-Id]\n    maxAge: 1h30m',
      ),
    );
    assert.deepEqual(r?.policies.cors, {
      allowCredentials: true,
      allowHeaders: { any: false, values: [] },
      allowMethods: { any: false, values: ['GET', 'POST'] },
      allowOrigins: { any: false, values: ['http://localhost:6274'] },
      exposeHeaders: { any: false, values: ['Mcp-Session-Id'] },
      maxAge: 5400,
    });
  });
});

describe('runtime settings', () => {
  const load = (text: string) => loadConfigText(text, { cwd: '/', env });

  it('reads config:', () => {
    const text = [
      'config:',
      '  workers: 0',
      '  logging: {format: json}',
      '  maxBufferSize: 1048576',
      '  listCacheBytes: 0',
      '  bufferBudgetBytes: 4194304',
      '  adminAddr: "127.0.0.1:9901"',
      '  statsAddr: null',
      '  readinessAddr: false',
      '  session: {key: "0123456789abcdef0123456789abcdef"}',
      '  upstreamCallsPerCaller: 8',
      '  upstreamStreamsPerCaller: 2',
      '  upstreamClient: undici',
    ].join('\n');
    assert.deepEqual(expectOk(load(text)).runtime, {
      workers: 0,
      logFormat: 'json',
      logging: { filter: null, add: [], remove: [], level: [] },
      maxBodyBytes: 1048576,
      listCacheBytes: 0,
      bufferBudgetBytes: 4194304,
      adminAddr: '127.0.0.1:9901',
      statsAddr: null,
      readinessAddr: null,
      sessionKey: '0123456789abcdef0123456789abcdef',
      upstreamCallsPerCaller: 8,
      upstreamStreamsPerCaller: 2,
      tracing: null,
      upstreamClient: 'undici',
    });
  });

  it('config.upstreamClient: portcullis or undici, anything else an error naming the path', () => {
    assert.equal(expectOk(load('config:\n  upstreamClient: portcullis\n')).runtime.upstreamClient, 'portcullis');
    assert.deepEqual(lines(load('config:\n  upstreamClient: node-http\n')), ['config.upstreamClient: expected one of portcullis, undici']);
    assert.deepEqual(lines(load('config:\n  upstreamClient: 1\n')), ['config.upstreamClient: expected one of portcullis, undici']);
  });

  it('the default buffer budget grows to hold one body of maxBufferSize; a smaller configured one is an error', () => {
    assert.equal(expectOk(load('config:\n  maxBufferSize: 536870912\n')).runtime.bufferBudgetBytes, 536870912);
    assert.deepEqual(lines(load('config:\n  maxBufferSize: 4096\n  bufferBudgetBytes: 4095\n')), [
      'config.bufferBudgetBytes: expected at least config.maxBufferSize (4096): a body of that size could never be held',
    ]);
  });

  it('reads config.logging: level, filter and fields, their CEL checked in the access log\'s environment', () => {
    const ok = [
      'config:',
      '  logging:',
      '    level: "info,request=off"',
      '    filter: response.code >= 400',
      '    fields:',
      '      remove: [src.addr]',
      '      add: {user: jwt.sub, tool: mcp.tool.name, code: response.code}',
    ].join('\n');
    assert.deepEqual(expectOk(load(ok)).runtime.logging, {
      filter: 'response.code >= 400',
      add: [{ name: 'user', expr: 'jwt.sub' }, { name: 'tool', expr: 'mcp.tool.name' }, { name: 'code', expr: 'response.code' }],
      remove: ['src.addr'],
      level: ['info', 'request=off'],
    });
    assert.deepEqual(expectOk(load('config:\n  logging: {level: [warn, "proxy::gateway=INFO"]}\n')).runtime.logging.level, ['warn', 'proxy::gateway=info']);
    const bad = [
      'config:',
      '  logging:',
      '    level: 3',
      '    filter: response.code + 1',
      '    fields:',
      '      remove: src.addr',
      '      add:',
      '        a: nope.x',
      '        b: json(request.body)',
      '        c: 7',
      '        d: "jwt.sub =="',
    ].join('\n');
    assert.deepEqual(lines(load(bad)), [
      'config.logging.level: expected a level (info, or a list such as [info, request=off])',
      "config.logging.filter: the expression's value is of type int, never a bool: the filter can never be true",
      'config.logging.fields.remove: expected a list',
      'config.logging.fields.add.a: expression reads variable "nope", which Portcullis does not provide (access-log expressions read jwt, mcp, request, source, response)',
      'config.logging.fields.add.b: expression uses function "json", which Portcullis does not provide',
      'config.logging.fields.add.c: expected a CEL expression string',
      'config.logging.fields.add.d: invalid CEL expression: Unexpected token: EOF',
    ]);
    assert.deepEqual(lines(load('config:\n  logging: {fields: {add: [x]}}\n')), ['config.logging.fields.add: expected a mapping of field name to CEL expression']);
  });

  it('reports bad and unsupported settings', () => {
    const text = 'config:\n  workers: -1\n  listCacheBytes: -5\n  adminAddr: nope\n  logging: {level: loud, format: xml}\n  tracing: {}\n  session: {}\n  colour: red\n  upstreamCallsPerCaller: 0\n';
    assert.deepEqual(lines(load(text)), [
      'config.workers: expected an integer from 0 to 1024',
      'config.listCacheBytes: expected an integer of at least 0',
      'config.adminAddr: expected host:port (e.g. localhost:15000, [::]:15020), or null/false to turn it off',
      'config.logging.level: invalid level "loud": expected one of trace, debug, info, warn, error, off, or <scope>=<level>',
      'config.logging.format: expected one of text, json',
      'config.tracing.otlpEndpoint: required (or one of OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT in the environment)',
      'config.session.key: required',
      'config.colour: unknown key',
      'config.upstreamCallsPerCaller: expected an integer of at least 1',
    ]);
  });
});
