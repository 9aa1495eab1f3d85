// Headers as a proxy must treat them (RFC 9110): the ones a `Connection` header names are
// hop-by-hop and go neither upstream nor back to the client; a field sent twice is one value,
// its copies comma-joined in arrival order, and route matches, CEL rules and the upstream all
// see that same value.
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { stringify } from 'yaml';
import type { CleanupHost } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, MCP_ACCEPT } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { initializeResult, startStub } from '../helpers/stub-upstream.js';

interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A POST through node:http, which (unlike fetch) sends any Connection header and repeated fields as given. */
function post(url: string, headers: ReadonlyArray<readonly [string, string]>, body: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    // Headers given as a list get no defaults from node:http: Host and the length are ours to send.
    const all = [['host', new URL(url).host], ...headers, ['content-length', String(Buffer.byteLength(body))]].flat();
    const req = request(url, { method: 'POST', agent: false, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const init = JSON.stringify(initializeRequest());
const mcpHeaders = [['accept', MCP_ACCEPT], ['content-type', 'application/json']] as const;

test('headers named in the client\'s Connection header are not forwarded upstream', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, { configText: routesYaml(up.url, [{ policies: {} }]) });
  const res = await post(gw.url, [...mcpHeaders, ['connection', 'keep-alive, X-Secret-Hop'], ['x-secret-hop', 's3cret'], ['x-kept', 'yes']], init);
  assert.equal(res.status, 200);
  const seen = up.requests.at(-1)?.headers;
  assert.equal(seen?.['x-kept'], 'yes');
  assert.equal(seen?.['x-secret-hop'], undefined, 'a header the Connection header names is hop-by-hop');
});

test('headers named in the upstream\'s Connection header are not relayed to the client', async (t) => {
  const up = await startConnectionNamingUpstream(t);
  const gw = await startTestGateway(t, { configText: routesYaml(up, [{ policies: {} }]) });
  const res = await post(gw.url, [...mcpHeaders, ['connection', 'close']], init);
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-kept'], 'yes');
  assert.equal(res.headers['x-upstream-hop'], undefined, 'a header the upstream\'s Connection header names is hop-by-hop');
});

test('a repeated header is matched by routes as the comma-joined value the upstream receives', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    configText: routesYaml(up.url, [
      // Matches on the first copy alone would pick this route for `b` then `a`.
      { matches: [{ path: { pathPrefix: '/' }, headers: [{ name: 'x-tenant', value: { exact: 'b' } }] }], policies: { authorization: { rules: ['false'] } } },
      { matches: [{ path: { pathPrefix: '/' }, headers: [{ name: 'x-tenant', value: { exact: 'b, a' } }] }], policies: {} },
    ]),
  });
  const res = await post(gw.url, [...mcpHeaders, ['connection', 'close'], ['x-tenant', 'b'], ['x-tenant', 'a']], init);
  assert.equal(res.status, 200, res.body);
  assert.equal(up.requests.at(-1)?.headers['x-tenant'], 'b, a');
  const single = await post(gw.url, [...mcpHeaders, ['connection', 'close'], ['x-tenant', 'b']], init);
  assert.equal(single.status, 403, 'one copy still matches the first route');
});

test('CEL rules see a repeated header as the comma-joined value the upstream receives', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const rule = 'request.headers["x-tenant"] == "a"';
  const gw = await startTestGateway(t, {
    configText: routesYaml(up.url, [{ policies: { authorization: { rules: [rule] }, mcpAuthorization: { rules: [rule] } } }]),
  });
  const smuggled = await post(gw.url, [...mcpHeaders, ['connection', 'close'], ['x-tenant', 'b'], ['x-tenant', 'a']], init);
  assert.equal(smuggled.status, 403, 'the upstream would see `b, a`, not `a`');
  assert.equal(up.requests.length, 0);
  const honest = await post(gw.url, [...mcpHeaders, ['connection', 'close'], ['x-tenant', 'a']], init);
  assert.equal(honest.status, 200);
  assert.equal(up.requests.at(-1)?.headers['x-tenant'], 'a');
});

test('mcpAuthorization rules see a repeated header joined too', async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await startTestGateway(t, {
    configText: routesYaml(up.url, [{ policies: { mcpAuthorization: { rules: ['request.headers["x-tenant"] == "b, a"'] } } }]),
  });
  const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {} } });
  const res = await post(gw.url, [...mcpHeaders, ['connection', 'close'], ['x-tenant', 'b'], ['x-tenant', 'a']], call);
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.body, /Unknown tool/, 'the rule allows the joined value');
  assert.equal(up.requests.at(-1)?.rpcMethod, 'tools/call');
});

type RouteYaml = Readonly<Record<string, unknown>> & { readonly policies: Readonly<Record<string, unknown>> };

function routesYaml(upstreamUrl: string, routes: readonly RouteYaml[]): string {
  return stringify({
    binds: [{
      port: 0,
      listeners: [{
        routes: routes.map((r) => ({ ...r, backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstreamUrl } }] } }] })),
      }],
    }],
  });
}

/** An upstream whose answers name a header of their own in `Connection`; returns its /mcp URL. */
async function startConnectionNamingUpstream(t: CleanupHost): Promise<string> {
  const stub = await startStub(t, (_req, res) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: initializeResult('hop', {}) });
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'internal', 'x-kept': 'yes' });
    res.end(body);
  });
  return stub.url;
}
