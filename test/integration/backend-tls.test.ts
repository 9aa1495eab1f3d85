// backendTLS towards https upstreams signed by a private CA (made by openssl in the test): refused
// against the system roots, accepted with `root`; mutual TLS to an upstream that demands a client
// certificate; `hostname` for SNI and verification; `insecureHost` and `insecure`, each logged
// at start; and the config errors, each naming its path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, rpc } from '../helpers/mcp-http.js';
import { makePki, type Issued, type Pki } from '../helpers/pki.js';
import { resultFor, sendJson, startStub } from '../helpers/stub-upstream.js';

interface TlsUpstream {
  readonly url: string;
  /** the subject of each client certificate presented, '' when none */
  readonly clients: string[];
}

/** An https JSON-RPC upstream answering every request with `{}`; `requestCert` demands a
 * client certificate signed by `pki`'s CA. */
async function tlsUpstream(t: CleanupHost, server: Issued, pki: Pki, requestCert = false): Promise<TlsUpstream> {
  const clients: string[] = [];
  const stub = await startStub(
    t,
    (req, res) => {
      const socket = req.socket;
      const peer = 'getPeerCertificate' in socket && typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
      clients.push(peer !== null && typeof peer === 'object' && 'subject' in peer && peer.subject !== undefined ? String(peer.subject.CN) : '');
      sendJson(res, resultFor(req, {}));
    },
    { tls: { cert: server.certPem, key: server.keyPem, ...(requestCert ? { requestCert: true, rejectUnauthorized: true, ca: pki.caPem } : {}) } },
  );
  return { url: stub.url, clients };
}

function config(target: Readonly<Record<string, unknown>>): string {
  return stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [target] } }] }] }] }] });
}

describe('backendTLS', () => {
  it('an upstream signed by a private CA: refused with the system roots, served with root', async (t) => {
    const pki = await makePki(t);
    const up = await tlsUpstream(t, await pki.issue('upstream', 'server', ['127.0.0.1']), pki);
    const plain = await startTestGateway(t, { configText: config({ name: 'u', mcp: { host: up.url } }) });
    const refused = await mcpFetch(plain.url, rpc(1, 'ping'));
    assert.equal(refused.status, 502);
    assert.match(await plain.log.waitFor(/http\.status=502/), /upstream call failed: .*(certificate|issuer)/i);
    assert.deepEqual(up.clients, [], 'nothing reached the upstream');

    const trusting = await startTestGateway(t, { configText: config({ name: 'u', mcp: { host: up.url }, policies: { backendTLS: { root: pki.caCert } } }) });
    assert.equal((await mcpFetch(trusting.url, rpc(2, 'ping'))).status, 200);
  });

  it('mutual TLS: an upstream demanding a client certificate refuses the gateway without one and takes it with cert and key', async (t) => {
    const pki = await makePki(t);
    const up = await tlsUpstream(t, await pki.issue('upstream', 'server', ['127.0.0.1']), pki, true);
    const client = await pki.issue('portcullis', 'client');
    const without = await startTestGateway(t, { configText: config({ name: 'u', mcp: { host: up.url }, policies: { backendTLS: { root: pki.caCert } } }) });
    assert.equal((await mcpFetch(without.url, rpc(1, 'ping'))).status, 502);
    const withCert = await startTestGateway(t, {
      configText: config({ name: 'u', mcp: { host: up.url }, policies: { backendTLS: { root: pki.caCert, cert: client.cert, key: client.key } } }),
    });
    assert.equal((await mcpFetch(withCert.url, rpc(2, 'ping'))).status, 200);
    assert.deepEqual(up.clients, ['portcullis']);
  });

  it('hostname names what is verified; insecureHost skips the name, insecure everything, each logged at start', async (t) => {
    const pki = await makePki(t);
    const other = await makePki(t, 'Another CA');
    const up = await tlsUpstream(t, await pki.issue('upstream', 'server', ['mcp.internal']), pki);
    const named = (tls: Readonly<Record<string, unknown>>): string => config({ name: 'u', mcp: { host: up.url }, policies: { backendTLS: tls } });
    const wrongName = await startTestGateway(t, { configText: named({ root: pki.caCert }) });
    assert.equal((await mcpFetch(wrongName.url, rpc(1, 'ping'))).status, 502);
    const byName = await startTestGateway(t, { configText: named({ root: pki.caCert, hostname: 'mcp.internal' }) });
    assert.equal((await mcpFetch(byName.url, rpc(2, 'ping'))).status, 200);
    const anyName = await startTestGateway(t, { configText: named({ root: pki.caCert, insecureHost: true }) });
    assert.equal((await mcpFetch(anyName.url, rpc(3, 'ping'))).status, 200);
    await anyName.log.waitFor(/warn\tupstream\tbackendTLS insecureHost: the name in the certificate is not verified route=route0 target=u/);
    // insecureHost still verifies the chain
    const wrongCa = await startTestGateway(t, { configText: named({ root: other.caCert, insecureHost: true }) });
    assert.equal((await mcpFetch(wrongCa.url, rpc(4, 'ping'))).status, 502);
    const insecure = await startTestGateway(t, { configText: named({ insecure: true }) });
    assert.equal((await mcpFetch(insecure.url, rpc(5, 'ping'))).status, 200);
    await insecure.log.waitFor(/backendTLS insecure: certificates are not verified/);
  });

  it('config errors name the path: missing files, a key that is not the certificate\'s, half a pair, both insecure flags', async (t) => {
    const pki = await makePki(t);
    const a = await pki.issue('a', 'client');
    const b = await pki.issue('b', 'client');
    const target = (tls: Readonly<Record<string, unknown>>): string => config({ name: 'u', mcp: { host: 'https://127.0.0.1:1/mcp' }, policies: { backendTLS: tls } });
    const errors = async (tls: Readonly<Record<string, unknown>>): Promise<string> => {
      let text = '';
      await assert.rejects(startTestGateway(t, { configText: target(tls) }), (err: unknown) => {
        text = String(err);
        return true;
      });
      return text;
    };
    const at = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].policies.backendTLS';
    assert.match(await errors({ root: '/no/such/ca.pem' }), new RegExp(`${at.replace(/[[\].]/g, '\\$&')}\\.root: could not read the file: .*ENOENT`));
    assert.match(await errors({ cert: a.cert, key: b.key }), /backendTLS\.key: the key is not the certificate's/);
    assert.match(await errors({ cert: a.cert }), /backendTLS\.key: cert and key go together/);
    assert.match(await errors({ root: a.key }), /backendTLS\.root: .* holds no PEM certificate/);
    assert.match(await errors({ insecure: true, insecureHost: true }), /backendTLS\.insecureHost: insecure already skips every check/);
    assert.match(await errors({ alpn: ['h2'] }), /backendTLS\.alpn: not supported by Portcullis/);
  });
});
