// HTTPS listeners, with certificates and a CA made by openssl in the test: the MCP SDK client and
// the MCP Inspector (trusting the CA through NODE_EXTRA_CA_CERTS) over HTTPS, in the legacy
// (`binds`) and HEAD (`gateways` + `routes`) forms; two hostnames with two certificates on one
// port, each client answered with its own (SNI), beside an HTTP bind; certificates read again on
// reload and when their files change; and the config errors. The suite's second pass runs these
// on the node:https fallback front too.
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startEchoServer, type EchoServer } from '../../examples/echo-server/server.js';
import { startGateway } from '../../src/main/gateway.js';
import { tempDir, type CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { runInspector } from '../helpers/inspector.js';
import { initializeRequest, mcpFetch, toolText } from '../helpers/mcp-http.js';
import { makePki, type Issued, type Pki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { connectClient } from '../helpers/sdk-client.js';
import { fetchTrusting, peerCertificate } from '../helpers/tls-fetch.js';

let echo: EchoServer;
let pki: Pki;
let server: Issued;
const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
before(async () => {
  echo = await startEchoServer({ port: 0 });
  pki = await makePki(suite);
  server = await pki.issue('gateway.test', 'server', ['127.0.0.1', 'localhost']);
});
after(async () => {
  await echo.close();
  for (const fn of cleanup.reverse()) await fn();
});

const routes = () => [{ backends: [{ mcp: { targets: [{ name: 'echo', mcp: { host: echo.url } }] } }] }];
const tlsOf = (c: Issued) => ({ cert: c.cert, key: c.key });

/** tools/call echo through the SDK client and through the Inspector CLI, both over https. */
async function callBothWays(t: CleanupHost, url: string): Promise<void> {
  const client = await connectClient(url, undefined, { headers: { connection: 'close' }, fetch: fetchTrusting(t, pki.caPem) });
  try {
    const result = await client.client.callTool({ name: 'echo', arguments: { message: 'over tls' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: over tls' }]);
  } finally {
    await client.close();
  }
  const inspected = await runInspector(url, ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hi'], { env: { NODE_EXTRA_CA_CERTS: pki.caCert } });
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.equal(toolText(JSON.parse(inspected.stdout)), 'Echo: hi');
}

/** POST initialize over https to 127.0.0.1:port, naming `host` in SNI and Host. */
function pingAs(port: number, host: string): Promise<number> {
  const body = JSON.stringify(initializeRequest());
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: host, path: '/mcp', method: 'POST', ca: pki.caPem, agent: false, headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTPS listeners', () => {
  it('legacy form: the SDK client and the Inspector call a tool over HTTPS', async (t) => {
    const gw = await startTestGateway(t, { configText: stringify({ binds: [{ port: 0, listeners: [{ protocol: 'HTTPS', tls: tlsOf(server), routes: routes() }] }] }) });
    await callBothWays(t, `https://127.0.0.1:${gw.gateway.port}/mcp`);
    assert.match(await gw.log.waitFor(/started bind/), /bind=bind\/0 port=\d+ protocol=HTTPS/);
    assert.match(gw.log.accessLines().at(-1) ?? '', /gateway=bind\/0 listener=listener0 route_rule=route0\/default route=route0 .*http\.status=200/);
  });

  it('HEAD form (gateways + routes): the same over HTTPS, logged with HEAD names', async (t) => {
    const gw = await startTestGateway(t, { configText: stringify({ gateways: { default: { port: 0, tls: tlsOf(server) } }, routes: routes() }) });
    await callBothWays(t, `https://127.0.0.1:${gw.gateway.port}/mcp`);
    const line = gw.log.accessLines().at(-1) ?? '';
    assert.match(line, /gateway=default\/default listener=default route=default\/route0 .*http\.status=200/);
    assert.doesNotMatch(line, /route_rule=/);
  });

  it('HEAD form, mcp: on an HTTPS gateway: the SDK client over HTTPS at /mcp', async (t) => {
    const gw = await startTestGateway(t, { configText: stringify({ gateways: { default: { port: 0, tls: tlsOf(server) } }, mcp: { targets: [{ name: 'echo', mcp: { host: echo.url } }] } }) });
    const client = await connectClient(`https://127.0.0.1:${gw.gateway.port}/mcp`, undefined, { headers: { connection: 'close' }, fetch: fetchTrusting(t, pki.caPem) });
    try {
      assert.deepEqual((await client.client.callTool({ name: 'echo', arguments: { message: 'simple' } })).content, [{ type: 'text', text: 'Echo: simple' }]);
    } finally {
      await client.close();
    }
    assert.match(gw.log.accessLines().at(-1) ?? '', /gateway=default\/default listener=default route=internal\/default /);
  });

  it('two hostnames, two certificates on one port (SNI), each routed to its listener; an HTTP bind beside it', async (t) => {
    const a = await pki.issue('a.test', 'server', ['a.test']);
    const b = await pki.issue('b.test', 'server', ['b.test']);
    const httpPort = await freePort();
    const config = {
      binds: [
        {
          port: 0,
          listeners: [
            { name: 'a', hostname: 'a.test', protocol: 'HTTPS', tls: tlsOf(a), routes: routes() },
            { name: 'b', hostname: 'b.test', protocol: 'HTTPS', tls: tlsOf(b), routes: routes() },
          ],
        },
        { port: httpPort, listeners: [{ routes: routes() }] },
      ],
    };
    const gw = await startTestGateway(t, { configText: stringify(config) });
    const port = gw.gateway.ports.get('bind/0') ?? 0;
    assert.equal((await peerCertificate(port, 'a.test', pki.caPem)).subject.CN, 'a.test');
    assert.equal((await peerCertificate(port, 'b.test', pki.caPem)).subject.CN, 'b.test');
    // No name, or one no listener has: the first listener's certificate.
    assert.equal((await peerCertificate(port, undefined, pki.caPem)).subject.CN, 'a.test');
    assert.equal((await peerCertificate(port, 'c.test', pki.caPem)).subject.CN, 'a.test');
    assert.equal(await pingAs(port, 'b.test'), 200);
    assert.match(gw.log.accessLines().at(-1) ?? '', /listener=b .*http\.host=b\.test .*http\.status=200/);
    assert.equal(await pingAs(port, 'a.test'), 200);
    assert.match(gw.log.accessLines().at(-1) ?? '', /listener=a .*http\.host=a\.test .*http\.status=200/);
    assert.equal((await mcpFetch(`http://127.0.0.1:${httpPort}/mcp`, initializeRequest())).status, 200);
  });

  it('certificates are read again: on reload, and when their files change; a bad pair keeps the old one', async (t) => {
    const dir = await tempDir(t);
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    const install = async (c: Issued): Promise<void> => {
      await copyFile(c.key, key);
      await copyFile(c.cert, cert);
    };
    const first = await pki.issue('first', 'server', ['127.0.0.1']);
    await install(first);
    // A port of its own: uWS opens a second listener on it for the new certificates, and the
    // kernel does not share a port it picked (port 0) (the fallback front changes them in place).
    const configText = async () => stringify({ binds: [{ port: await freePort(), listeners: [{ protocol: 'HTTPS', tls: { cert, key }, routes: routes() }] }] });

    // An explicit reload (no watching).
    const still = await startTestGateway(t, { configText: await configText(), watch: false });
    const stillPort = still.gateway.port;
    const second = await pki.issue('second', 'server', ['127.0.0.1']);
    await install(second);
    assert.equal((await peerCertificate(stillPort, undefined, pki.caPem)).subject.CN, 'first');
    assert.deepEqual(await still.gateway.reload(), { ok: true });
    assert.equal((await peerCertificate(stillPort, undefined, pki.caPem)).subject.CN, 'second');
    assert.equal(still.gateway.port, stillPort);
    assert.equal((await pingAs(stillPort, '127.0.0.1')), 200);
    // A key that is not the certificate's: the reload fails naming the path, the old pair stays.
    await copyFile(first.key, key);
    const failed = await still.gateway.reload();
    assert.ok(!failed.ok);
    assert.deepEqual(failed.issues.map((i) => i.path), ['binds[0].listeners[0].tls.key']);
    assert.equal((await peerCertificate(stillPort, undefined, pki.caPem)).subject.CN, 'second');

    // Watching: writing the files is enough.
    await install(first);
    const watching = await startTestGateway(t, { configText: await configText() });
    const port = watching.gateway.port;
    assert.equal((await peerCertificate(port, undefined, pki.caPem)).subject.CN, 'first');
    const from = watching.log.lines.length;
    await install(second);
    await watching.log.waitFor(/A certificate file changed, reloading/, { fromLine: from });
    await watching.log.waitFor(/Config reloaded successfully/, { fromLine: from });
    assert.equal((await peerCertificate(port, undefined, pki.caPem)).subject.CN, 'second');
    assert.equal((await pingAs(port, '127.0.0.1')), 200);
  });

  it('config errors name the path: a missing file, a key of another certificate, HTTPS without tls, HTTP with tls', async () => {
    const other = await pki.issue('other', 'server');
    const start = (listener: Record<string, unknown>) => startGateway({ configText: stringify({ binds: [{ port: 0, listeners: [{ routes: routes(), ...listener }] }] }), adminAddr: null, statsAddr: null, readinessAddr: null });
    const at = 'binds[0].listeners[0]';
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ protocol: 'HTTPS', tls: { cert: join(pki.dir, 'missing.pem'), key: server.key } }, `${at}.tls.cert`, /could not read the file: ENOENT/],
      [{ protocol: 'HTTPS', tls: { cert: server.cert, key: other.key } }, `${at}.tls.key`, /the key is not the certificate's/],
      [{ protocol: 'HTTPS' }, `${at}.tls`, /protocol HTTPS needs tls/],
      [{ tls: tlsOf(server) }, `${at}.tls`, /not allowed with protocol HTTP/],
    ];
    for (const [listener, path, message] of cases) {
      await assert.rejects(start(listener), (err: unknown) => {
        assert.ok(err instanceof Error && 'code' in err && err.code === 'GW_CONFIG_INVALID');
        assert.ok('issues' in err && Array.isArray(err.issues));
        const issue: unknown = err.issues[0];
        assert.ok(typeof issue === 'object' && issue !== null && 'path' in issue && 'message' in issue && typeof issue.message === 'string');
        assert.equal(issue.path, path);
        assert.match(issue.message, message);
        return true;
      });
    }
  });
});
