// Policies on a route's backend and on one MCP target (agentgateway HEAD's places), header
// modifiers and transformations: what loads, how the layers merge, and every error by its path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../../src/main/config/load.js';
import { NO_BACKEND_POLICIES } from '../../../src/main/config/read-backend-policies.js';
import { mergePolicies, routeUpstreamPolicies } from '../../../src/main/upstream/target-policies.js';
import { ROUTE, expectOk, lines, withRoute } from './fixtures.js';

const load = (route: string) => loadConfigText(withRoute(route), { cwd: '/', env: {} });
const BACKEND = `${ROUTE}.backends[0]`;
const TARGET = `${BACKEND}.mcp.targets[0]`;

describe('backend and target policies', () => {
  it('read on backends[] and mcp.targets[], and merged per type: target over backend over route', () => {
    const config = expectOk(
      load(
        [
          'policies:',
          '  backendAuth: {key: route-key}',
          '  requestHeaderModifier: {set: {x-layer: route}}',
          '  responseHeaderModifier: {remove: [x-secret]}',
          'backends:',
          '- policies:',
          '    requestHeaderModifier: {add: {X-Layer: backend}}',
          '    transformations: {request: {set: {x-user: jwt.sub}}}',
          '  mcp:',
          '    targets:',
          '    - name: a',
          '      mcp: {host: "http://localhost:1/mcp"}',
          '      policies: {backendAuth: {key: target-key}}',
          '    - name: b',
          '      mcp: {host: "http://localhost:2/mcp"}',
        ].join('\n'),
      ),
    );
    const route = config.binds[0]?.listeners[0]?.routes[0];
    const backend = route?.backends[0];
    const [a, b] = backend?.targets ?? [];
    assert.ok(route !== undefined && backend !== undefined && a !== undefined && b !== undefined && a.kind === 'mcp' && b.kind === 'mcp');
    assert.deepEqual(backend.policies.requestHeaderModifier, { add: [['x-layer', 'backend']], set: [], remove: [] });
    assert.deepEqual(b.policies, NO_BACKEND_POLICIES);
    const forA = mergePolicies(routeUpstreamPolicies(route.policies), backend.policies, a.policies);
    const forB = mergePolicies(routeUpstreamPolicies(route.policies), backend.policies, b.policies);
    assert.equal(forA.backendAuth?.kind === 'key' ? forA.backendAuth.value.secret : null, 'target-key');
    assert.equal(forB.backendAuth?.kind === 'key' ? forB.backendAuth.value.secret : null, 'route-key');
    // the backend's modifier replaces the route's, whole
    assert.deepEqual(forB.requestHeaderModifier, { add: [['x-layer', 'backend']], set: [], remove: [] });
    assert.deepEqual(forB.responseHeaderModifier, { add: [], set: [], remove: ['x-secret'] });
    assert.deepEqual(forB.transformations, { request: { add: [], set: [['x-user', 'jwt.sub']], remove: [] }, response: null });
  });

  it('errors name their path: a stdio target takes no policies, unsupported kinds, bad header names and values, CEL that cannot give a string', () => {
    assert.deepEqual(
      lines(
        load(
          [
            'backends:',
            '- policies:',
            '    health: {}',
            '    requestHeaderModifier: {set: {"bad name": x, content-length: "1", x-ok: "a\\nb"}, remove: [mcp-session-id]}',
            '    transformations: {request: {set: {x-n: "jwt.sub.size()", x-f: "json(jwt)", x-q: "jwt.sub ==", x-v: "llm.model"}, body: "x"}, conditional: []}',
            '  mcp:',
            '    targets:',
            '    - name: s',
            '      stdio: {cmd: echo}',
            '      policies: {backendAuth: {key: k}}',
            '    - name: m',
            '      mcp: {host: "http://localhost:1/mcp"}',
            '      policies: {responseHeaderModifier: {}, tcp: {}}',
          ].join('\n'),
        ),
      ),
      [
        `${BACKEND}.policies.health: not supported by Portcullis`,
        `${BACKEND}.policies.requestHeaderModifier.set["bad name"]: not a valid header name`,
        `${BACKEND}.policies.requestHeaderModifier.set.content-length: the gateway owns content-length: it cannot be changed by a policy`,
        `${BACKEND}.policies.requestHeaderModifier.set.x-ok: a header value cannot hold control characters (CR, LF, NUL…)`,
        `${BACKEND}.policies.requestHeaderModifier.remove[0]: the gateway owns mcp-session-id: it cannot be changed by a policy`,
        `${BACKEND}.policies.transformations.conditional: not supported by Portcullis`,
        `${TARGET}.policies: not allowed on a stdio target: it has no connection for them to apply to`,
        `${BACKEND}.mcp.targets[1].policies.responseHeaderModifier: unknown key`,
        `${BACKEND}.mcp.targets[1].policies.tcp: not supported by Portcullis`,
      ],
    );
    assert.deepEqual(
      lines(load('policies:\n  transformations: {request: {set: {x-n: "jwt.sub.size()", x-f: "json(jwt)", x-q: "jwt.sub ==", x-v: "llm.model", x-e: ""}, body: "x"}}\n' + 'backends:\n- mcp: {targets: [{name: t, mcp: {host: "http://localhost:1/mcp"}}]}')),
      [
        `${ROUTE}.policies.transformations.request.set.x-n: the expression's value is of type int, never a string (wrap it in string(…))`,
        `${ROUTE}.policies.transformations.request.set.x-f: expression uses function "json", which Portcullis does not provide`,
        `${ROUTE}.policies.transformations.request.set.x-q: invalid CEL expression: Unexpected token: EOF`,
        `${ROUTE}.policies.transformations.request.set.x-v: expression reads variable "llm", which Portcullis does not provide (it can read jwt, mcp, request, source)`,
        `${ROUTE}.policies.transformations.request.set.x-e: expected a CEL expression (a string literal needs inner quotes: '"on"')`,
        `${ROUTE}.policies.transformations.request.body: not supported by Portcullis`,
      ],
    );
  });

  it('http.pipelining on a target: read with its shape; bad values named by path and reason', () => {
    const target = (http: string): string =>
      ['backends:', '- mcp:', '    targets:', '    - name: a', '      mcp: {host: "http://localhost:1/mcp"}', `      policies: {http: ${http}}`].join('\n');
    const config = expectOk(load(target('{requestTimeout: 5s, pipelining: {connections: 2, depth: 32}}')));
    const a = config.binds[0]?.listeners[0]?.routes[0]?.backends[0]?.targets[0];
    assert.ok(a !== undefined && a.kind === 'mcp');
    assert.deepEqual(a.policies.http, { requestTimeoutMs: 5000, pipelining: { connections: 2, depth: 32 } });
    const plain = expectOk(load(target('{requestTimeout: 5s}'))).binds[0]?.listeners[0]?.routes[0]?.backends[0]?.targets[0];
    assert.deepEqual(plain?.kind === 'mcp' ? plain.policies.http : undefined, { requestTimeoutMs: 5000, pipelining: null });
    const P = `${TARGET}.policies.http.pipelining`;
    assert.deepEqual(lines(load(target('{pipelining: {connections: 0, depth: 1}}'))), [`${P}.connections: expected an integer from 1 to 64`, `${P}.depth: expected an integer from 2 to 128`]);
    assert.deepEqual(lines(load(target('{pipelining: {connections: 2}}'))), [`${P}.depth: required`]);
    assert.deepEqual(lines(load(target('{pipelining: {connections: 2, depth: 8, order: any}}'))), [`${P}.order: unknown key`]);
    assert.deepEqual(lines(load(target('{pipelining: 4}'))), [`${P}: expected a mapping`]);
  });
});
