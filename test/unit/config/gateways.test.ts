// agentgateway HEAD's config model: `gateways` (a port each, one listener or several) and
// top-level `routes` attached to them by `gateways` (default: the gateway named `default`), read
// into the same binds, listeners and routes as `binds`, with HEAD's names (what the access log
// shows); errors name the path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { GatewayConfig } from '../../../src/main/config/types.js';
import { makePki } from '../../helpers/pki.js';
import { expectOk, lines } from './fixtures.js';

const load = (config: unknown) => loadConfigText(stringify(config), { cwd: '/', env: {} });
const backends = [{ mcp: { targets: [{ name: 't', mcp: { host: 'http://127.0.0.1:1/mcp' } }] } }];

/** Each bind as `name protocol`, each listener as its names and hostname, each route as its name and route_rule. */
function shape(config: GatewayConfig): unknown[] {
  return config.binds.map((b) => ({
    bind: `${b.name} ${b.protocol}`,
    listeners: b.listeners.map((l) => ({ name: l.name, gateway: l.gatewayName, hostname: l.hostname, routes: l.routes.map((r) => `${r.name} ${r.ruleKey ?? '-'}`) })),
  }));
}

describe('gateways and routes (agentgateway HEAD)', () => {
  it('a gateway is a port with one listener named after it; routes attach to `default` unless they say', () => {
    const config = expectOk(load({
      gateways: { default: { port: 3000 }, admin: { port: 3001 } },
      routes: [{ backends }, { name: 'tools', ruleName: 'r1', backends }, { gateways: 'admin', backends }, { gateways: ['admin', 'default'], backends }],
    }));
    assert.deepEqual(shape(config), [
      { bind: 'bind/3000 HTTP', listeners: [{ name: 'default', gateway: 'default/default', hostname: null, routes: ['default/route0 -', 'default/tools r1', 'default/route2 -'] }] },
      { bind: 'bind/3001 HTTP', listeners: [{ name: 'admin', gateway: 'default/default', hostname: null, routes: ['default/route0 -', 'default/route1 -'] }] },
    ]);
  });

  it('listeners of a gateway: <gateway>/<name> (default listener<i>), each with its hostname and certificate; a route names one or all', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a.test', 'server', ['a.test']);
    const b = await pki.issue('b.test', 'server', ['b.test']);
    const config = expectOk(load({
      gateways: {
        web: {
          port: 8443,
          listeners: [
            { name: 'a', hostname: 'a.test', tls: { cert: a.cert, key: a.key } },
            { hostname: 'b.test', protocol: 'HTTPS', tls: { cert: b.cert, key: b.key } },
          ],
        },
        plain: { port: 8080 },
      },
      routes: [
        { gateways: 'web', namespace: 'team', name: 'both', backends },
        { gateways: 'web/a', backends },
        { gateways: ['plain', 'web/listener1'], backends },
      ],
    }));
    assert.deepEqual(shape(config), [
      {
        bind: 'bind/8443 HTTPS',
        listeners: [
          { name: 'web/a', gateway: 'default/default', hostname: 'a.test', routes: ['team/both -', 'default/route1 -'] },
          { name: 'web/listener1', gateway: 'default/default', hostname: 'b.test', routes: ['team/both -', 'default/route1 -'] },
        ],
      },
      { bind: 'bind/8080 HTTP', listeners: [{ name: 'plain', gateway: 'default/default', hostname: null, routes: ['default/route0 -'] }] },
    ]);
    assert.equal(config.binds[0]?.listeners[1]?.tls?.cert.file, b.cert);
    // tls alone means HTTPS.
    assert.equal(expectOk(load({ gateways: { default: { port: 1, tls: { cert: a.cert, key: a.key } } } })).binds[0]?.protocol, 'HTTPS');
  });

  it('binds and gateways side by side; a port used twice is an error', () => {
    const config = expectOk(load({ binds: [{ port: 9000, listeners: [{ routes: [{ backends }] }] }], gateways: { default: { port: 9001 } }, routes: [{ backends }] }));
    assert.deepEqual(config.binds.map((b) => [b.name, b.listeners[0]?.name, b.listeners[0]?.routes[0]?.name, b.listeners[0]?.routes[0]?.ruleKey]), [
      ['bind/9000', 'listener0', 'route0', 'route0/default'],
      ['bind/9001', 'default', 'default/route0', null],
    ]);
    assert.deepEqual(lines(load({ binds: [{ port: 9000, listeners: [] }], gateways: { a: { port: 9000 }, b: { port: 9000 } } })), [
      'gateways.a.port: port 9000 is already used by binds (bind/9000)',
      'gateways.b.port: port 9000 is already used by binds (bind/9000)',
    ]);
    assert.deepEqual(lines(load({ gateways: { a: { port: 1 }, b: { port: 1 } } })), ['gateways.b.port: port 1 is already used by gateways.a']);
  });

  it('errors name the path: references, protocols, keys HEAD has that Portcullis does not', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a', 'server');
    const tls = { cert: a.cert, key: a.key };
    assert.deepEqual(lines(load({ gateways: { web: { port: 1 } }, routes: [{ backends }, { gateways: ['web/x', 'nope', 3], backends }] })), [
      'routes[0].gateways: required: there is no gateway named default to attach to',
      'routes[1].gateways[0]: unknown gateway reference "web/x"',
      'routes[1].gateways[1]: unknown gateway reference "nope"',
      'routes[1].gateways[2]: expected a gateway name, or <gateway>/<listener>',
    ]);
    assert.deepEqual(lines(load({
      gateways: {
        a: { protocol: 'HTTPS' },
        b: { port: 2, protocol: 'HTTP', tls },
        c: { port: 3, tls, listeners: [{ name: 'x' }, { name: 'x' }] },
        d: { port: 4, listeners: [{ tls }, { protocol: 'HTTP', jwtAuth: {} }] },
        e: { port: 5, protocol: 'TCP', cors: {}, hostname: 'e.test' },
      },
    })), [
      'gateways.a.port: required',
      'gateways.a.tls: required: protocol HTTPS needs tls: {cert, key}',
      'gateways.b.tls: not allowed with protocol HTTP (for HTTPS, write protocol: HTTPS)',
      'gateways.c.tls: not allowed beside listeners: set it on each listener',
      'gateways.c.listeners[1].name: a listener of gateway "c" already has this name',
      'gateways.d.listeners[1].protocol: HTTP beside HTTPS on one port: a port serves HTTP or HTTPS, not both (give this listener a port of its own)',
      'gateways.d.listeners[1].jwtAuth: not supported by Portcullis',
      'gateways.e.protocol: not supported by Portcullis',
      'gateways.e.cors: not supported by Portcullis',
      'gateways.e.hostname: unknown key',
    ]);
    assert.deepEqual(lines(load({ gateways: { default: { port: 1 } }, routes: [{ name: 'r', backends }, { name: 'r', backends }, { gatways: 'default' }] })), [
      'routes[1].name: "default/r" is already the name of routes[0] on listener default',
      'routes[2].gatways: unknown key',
    ]);
    assert.deepEqual(lines(load({ gateways: [] })), ['gateways: expected a mapping of gateway names to gateways']);
  });

  it('mcp: (the simplified form) on the default gateway at /mcp, /sse and /.well-known, else on a port of its own serving every path', () => {
    const targets = [{ name: 't', mcp: { host: 'http://127.0.0.1:1/mcp' } }];
    const attached = expectOk(load({ gateways: { default: { port: 3000 } }, routes: [{ backends }], mcp: { targets, policies: { cors: { allowOrigins: ['*'] } } } }));
    assert.deepEqual(shape(attached), [{ bind: 'bind/3000 HTTP', listeners: [{ name: 'default', gateway: 'default/default', hostname: null, routes: ['default/route0 -', 'internal/default -'] }] }]);
    const route = attached.binds[0]?.listeners[0]?.routes[1];
    assert.deepEqual(route?.matches.map((m) => m.path), [{ kind: 'prefix', value: '/mcp' }, { kind: 'prefix', value: '/sse' }, { kind: 'prefix', value: '/.well-known' }]);
    assert.deepEqual(route?.backends[0]?.targets.map((t) => t.name), ['t']);
    assert.notEqual(route?.policies.cors, null);

    const own = expectOk(load({ gateways: { default: { port: 3000 } }, mcp: { port: 3001, targets, statefulMode: 'stateless' } }));
    assert.deepEqual(shape(own)[1], { bind: 'bind/3001 HTTP', listeners: [{ name: 'mcp', gateway: 'default/default', hostname: null, routes: ['internal/default -'] }] });
    assert.deepEqual(own.binds[1]?.listeners[0]?.routes[0]?.matches.map((m) => m.path), [{ kind: 'prefix', value: '/' }]);
    assert.equal(own.binds[1]?.listeners[0]?.routes[0]?.backends[0]?.statefulMode, 'stateless');
    assert.equal(expectOk(load({ mcp: { targets } })).binds[0]?.name, 'bind/3000');

    assert.deepEqual(lines(load({ gateways: { a: { port: 3000 } }, mcp: { gateways: ['b'], port: 4, failureMode: 'failOpen', targets } })), [
      'mcp.gateways: cannot be used with port (port is the deprecated way to serve on a port of its own)',
      'mcp.gateways[0]: unknown gateway reference "b"',
      'mcp.failureMode: not supported by Portcullis',
    ]);
    assert.deepEqual(lines(load({ gateways: { a: { port: 3000 } }, mcp: { targets } })), ['mcp: port 3000 (the default) is already used by gateways.a']);
  });
});
