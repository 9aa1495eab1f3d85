// TLS towards identity providers signed by a private CA (made by openssl in the test): a remote
// JWKS (and OpenID discovery) is refused against the system roots and loads with `tls.root`; a
// token endpoint is refused likewise and answers with `policies.backendTLS.root`; insecure
// settings are warned at start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startEchoServer, type EchoServer } from '../../examples/echo-server/server.js';
import { credentialFor, expectGranted, expectRefused, sourceFromYaml, startUserIdp, verifiedCaller } from '../helpers/exchange-fixtures.js';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { inSeconds, makeIssuer, type Issuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { sendJson, startStub, type StubRequest } from '../helpers/stub-upstream.js';

let echo: EchoServer;
let pki: Pki;
const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
before(async () => {
  echo = await startEchoServer({ port: 0 });
  pki = await makePki(suite);
});
after(async () => {
  await echo.close();
  for (const fn of cleanup.reverse()) await fn();
});

/** An https server on 127.0.0.1 with a certificate the test CA signed, answering JSON by path. */
async function httpsIdp(t: CleanupHost, answer: (req: StubRequest) => unknown): Promise<{ readonly origin: string; readonly paths: string[] }> {
  const cert = await pki.issue('idp', 'server', ['127.0.0.1']);
  const paths: string[] = [];
  const stub = await startStub(
    t,
    (req, res) => {
      paths.push(req.path);
      sendJson(res, answer(req));
    },
    { tls: { cert: cert.certPem, key: cert.keyPem } },
  );
  return { origin: `https://127.0.0.1:${stub.port}`, paths };
}

function jwtRoute(issuer: string, jwks: Readonly<Record<string, unknown>>): string {
  const policies = { jwtAuth: { mode: 'strict', issuer, audiences: ['mcp'], jwks } };
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ policies, backends: [{ mcp: { targets: [{ name: 'echo', mcp: { host: echo.url } }] } }] }] }] }] });
}

async function tokenOf(issuer: Issuer, iss: string): Promise<string> {
  return issuer.sign({ iss, sub: 'jsmith', aud: 'mcp', iat: inSeconds(0), exp: inSeconds(600) });
}

describe('TLS towards identity providers', () => {
  it('a remote JWKS signed by a private CA: refused against the system roots, loaded with tls.root', async (t) => {
    const issuer = await makeIssuer();
    const idp = await httpsIdp(t, () => issuer.jwks);
    const token = await tokenOf(issuer, 'https://idp.test');
    const plain = await startTestGateway(t, { configText: jwtRoute('https://idp.test', { url: `${idp.origin}/jwks` }) });
    assert.match(await plain.log.waitFor(/JWKS refresh failed/), /certificate|issuer/i);
    assert.equal((await mcpFetch(plain.url, initializeRequest(), { token })).status, 401);
    assert.deepEqual(idp.paths, [], 'the handshake failed before any request');

    const trusting = await startTestGateway(t, { configText: jwtRoute('https://idp.test', { url: `${idp.origin}/jwks`, tls: { root: pki.caCert } }) });
    assert.equal((await mcpFetch(trusting.url, initializeRequest(), { token })).status, 200);
    assert.deepEqual(idp.paths, ['/jwks']);
  });

  it('OpenID discovery with tls: the configuration and the JWKS both fetched through it; insecureHost is warned at start', async (t) => {
    const issuer = await makeIssuer();
    let origin = '';
    const idp = await httpsIdp(t, (req) => (req.path === '/.well-known/openid-configuration' ? { issuer: origin, jwks_uri: `${origin}/keys` } : issuer.jwks));
    origin = idp.origin;
    const token = await tokenOf(issuer, origin);
    // The certificate names 127.0.0.1; `hostname` makes another name the one verified, and
    // insecureHost then lets it pass while the chain is still checked.
    const gw = await startTestGateway(t, { configText: jwtRoute(origin, { discovery: true, tls: { root: pki.caCert, hostname: 'idp.internal', insecureHost: true } }) });
    assert.match(await gw.log.waitFor(/jwks tls insecureHost/), /WARN|warn/);
    assert.equal((await mcpFetch(gw.url, initializeRequest(), { token })).status, 200);
    assert.deepEqual(idp.paths, ['/.well-known/openid-configuration', '/keys']);
  });

  it('a token endpoint signed by a private CA: refused against the system roots, answers with policies.backendTLS.root', async (t) => {
    const user = await startUserIdp();
    const idp = await httpsIdp(t, () => ({ access_token: 'exchanged-token', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 300 }));
    const caller = verifiedCaller(await user.token('alice'));
    const exchange = (policies: string) => `oauthTokenExchange:\n  host: ${idp.origin}\n  path: /token${policies}`;

    const refused = expectRefused(await credentialFor(sourceFromYaml(exchange(''), {}, pki.dir), caller));
    assert.equal(refused.status, 500);
    assert.match(refused.detail, /certificate|issuer/i);
    assert.deepEqual(idp.paths, []);

    const granted = expectGranted(await credentialFor(sourceFromYaml(exchange(`\n  policies: {backendTLS: {root: ${pki.caCert}}}`), {}, pki.dir), caller));
    assert.deepEqual(granted.inserts.map((i) => [i.name, i.value]), [['authorization', 'Bearer exchanged-token']]);
    assert.deepEqual(idp.paths, ['/token']);
  });
});
