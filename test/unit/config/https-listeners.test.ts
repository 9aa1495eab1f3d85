// HTTPS listeners in the config, legacy (`binds[].listeners[]`) form: protocol and tls as
// agentgateway, certificates read and checked at load (a missing file, a key that is not the
// certificate's), one protocol per port; and `tls` beside a JWKS url / discovery, and
// `policies.backendTLS` of a token endpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/main/config/load.js';
import { makePki } from '../../helpers/pki.js';
import { expectOk, lines } from './fixtures.js';

const load = (config: unknown) => loadConfigText(stringify(config), { cwd: '/', env: {} });
const bind = (...listeners: unknown[]) => ({ binds: [{ port: 8443, listeners: listeners.map((l) => ({ routes: [], ...(l as object) })) }] });

describe('HTTPS listeners (binds)', () => {
  it('protocol HTTPS with tls loads the certificate and key; the bind is HTTPS', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a.test', 'server', ['a.test']);
    const config = expectOk(load(bind({ protocol: 'HTTPS', tls: { cert: a.cert, key: a.key } })));
    const b = config.binds[0];
    assert.equal(b?.protocol, 'HTTPS');
    assert.deepEqual(b?.listeners[0]?.tls, { cert: { secret: a.certPem, file: a.cert }, key: { secret: a.keyPem, file: a.key } });
    assert.equal(expectOk(load(bind({}))).binds[0]?.protocol, 'HTTP');
  });

  it('HTTPS needs tls, HTTP refuses it; a missing file or a key of another certificate names the path', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a', 'server');
    const b = await pki.issue('b', 'server');
    const at = 'binds[0].listeners[0]';
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS' }))), [`${at}.tls: required: protocol HTTPS needs tls: {cert, key}`]);
    assert.deepEqual(lines(load(bind({ tls: { cert: a.cert, key: a.key } }))), [`${at}.tls: not allowed with protocol HTTP (for HTTPS, write protocol: HTTPS)`]);
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS', tls: { cert: `${pki.dir}/gone.pem`, key: a.key } }))), [
      `${at}.tls.cert: could not read the file: ENOENT: no such file or directory, open '${pki.dir}/gone.pem'`,
    ]);
    const mismatched = lines(load(bind({ protocol: 'HTTPS', tls: { cert: a.cert, key: b.key } })));
    assert.equal(mismatched.length, 1);
    assert.match(mismatched[0] ?? '', /^binds\[0\]\.listeners\[0\]\.tls\.key: the key is not the certificate's/);
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS', tls: { cert: a.key, key: a.key } }))), [`${at}.tls.cert: ${a.key} holds no PEM certificate`]);
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS', tls: { cert: a.cert } }))), [`${at}.tls.key: required`]);
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS', tls: { cert: a.cert, key: a.key, root: pki.caCert, minTLSVersion: 'TLS_V1_3' } }))), [
      `${at}.tls.root: not supported by Portcullis`,
      `${at}.tls.minTLSVersion: not supported by Portcullis`,
    ]);
  });

  it('a port serves HTTP or HTTPS: a listener of the other protocol is an error naming it', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a', 'server');
    const tls = { cert: a.cert, key: a.key };
    assert.deepEqual(lines(load(bind({ protocol: 'HTTPS', tls }, { hostname: 'plain.test' }))), [
      'binds[0].listeners[1].protocol: HTTP beside HTTPS on one port: a port serves HTTP or HTTPS, not both (give this listener a port of its own)',
    ]);
    // Several HTTPS listeners (one certificate per hostname) and HTTP and HTTPS binds side by side load.
    const config = expectOk(load({
      binds: [
        { port: 8443, listeners: [{ hostname: 'a.test', protocol: 'HTTPS', tls, routes: [] }, { hostname: 'b.test', protocol: 'HTTPS', tls, routes: [] }] },
        { port: 8080, listeners: [{ routes: [] }] },
      ],
    }));
    assert.deepEqual(config.binds.map((b) => b.protocol), ['HTTPS', 'HTTP']);
  });
});

describe('TLS towards identity providers', () => {
  const route = (policies: unknown) => ({ binds: [{ port: 1, listeners: [{ routes: [{ policies, backends: [{ mcp: { targets: [{ name: 't', mcp: { host: 'http://127.0.0.1:1/mcp' } }] } }] }] }] }] });
  const ROUTE = 'binds[0].listeners[0].routes[0].policies';

  it('jwks: {url, tls} and {discovery, tls} take backendTLS fields; a file takes none, an http URL neither', async (t) => {
    const pki = await makePki(t);
    const jwt = (jwks: unknown) => route({ jwtAuth: { issuer: 'https://idp.test', jwks } });
    const provider = (jwks: unknown) => expectOk(load(jwt(jwks))).binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth?.providers[0];
    const tls = { root: { secret: pki.caPem, file: pki.caCert }, cert: null, key: null, hostname: 'idp.internal', insecure: false, insecureHost: false };
    assert.deepEqual(provider({ url: 'https://idp.test/jwks', tls: { root: pki.caCert, hostname: 'idp.internal' } })?.jwksSource, { kind: 'url', url: 'https://idp.test/jwks', tls });
    assert.deepEqual(provider({ discovery: true, tls: { root: pki.caCert, hostname: 'idp.internal' } })?.jwksSource, { kind: 'discovery', tls });
    assert.deepEqual(lines(load(jwt({ file: 'jwks.json', tls: {} }))), [`${ROUTE}.jwtAuth.jwks.tls: only with url or discovery: a file is not fetched`]);
    assert.deepEqual(lines(load(jwt({ url: 'http://idp.test/jwks', tls: {} }))), [`${ROUTE}.jwtAuth.jwks.url: tls is given, so this must be an https URL`]);
    assert.deepEqual(lines(load(jwt({ url: 'https://idp.test/jwks', tls: { root: '/nonexistent.pem', spiffe: {} } }))), [
      `${ROUTE}.jwtAuth.jwks.tls.root: could not read the file: ENOENT: no such file or directory, open '/nonexistent.pem'`,
      `${ROUTE}.jwtAuth.jwks.tls.spiffe: not supported by Portcullis`,
    ]);
  });

  it('a token endpoint takes policies.backendTLS', async (t) => {
    const pki = await makePki(t);
    const config = expectOk(load(route({ backendAuth: { oauthTokenExchange: { host: 'https://idp.test', path: '/token', policies: { backendTLS: { root: pki.caCert } } } } })));
    const auth = config.binds[0]?.listeners[0]?.routes[0]?.policies.backendAuth;
    assert.ok(auth?.kind === 'oauthTokenExchange');
    assert.deepEqual(auth.exchange.endpoint, {
      kind: 'url',
      url: 'https://idp.test/token',
      tls: { root: { secret: pki.caPem, file: pki.caCert }, cert: null, key: null, hostname: null, insecure: false, insecureHost: false },
    });
  });
});
