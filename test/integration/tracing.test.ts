// OpenTelemetry tracing through a real gateway, the spans read back from an OTLP receiver in this
// process (protobuf over HTTP and gRPC, decoded as they arrived): a tools/call on a route of two
// targets, each exchanging the caller's token at a real authorization server, gives a server span
// named by the JSON-RPC method with agentgateway's attributes, a client span per upstream call as
// its child, and an `Oidc` span per token endpoint call as the client span's child; the upstream
// and the token endpoint received the trace context of their span. A client's traceparent is
// honoured, random sampling is off by default, and a stdio server gets the context in `_meta`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { tempDir } from '../helpers/files.js';
import { type UserIdp, USER_ISSUER, startUserIdp } from '../helpers/exchange-fixtures.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { mcpFetch, openMcpSession, resultOf, rpc, toolText } from '../helpers/mcp-http.js';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { scriptedStdioEntry } from '../helpers/scripted-server.js';
import { type TokenCheckingUpstream, startTokenCheckingUpstream } from '../helpers/token-checking-upstream.js';
import { type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';

// The batch processor's delay (the SDK reads it at start): spans arrive within the test's wait.
process.env['OTEL_BSP_SCHEDULE_DELAY'] = '20';

const CRM = 'https://crm.example.com/mcp';
const WIKI = 'https://wiki.example.com/mcp';

const cleanup: Array<() => Promise<void>> = [];
const suite = { after: (fn: () => Promise<void>): void => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let user: UserIdp;
let dir: string;
let idp: TokenIdp;
let crm: TokenCheckingUpstream;
let wiki: TokenCheckingUpstream;
let receiver: OtlpReceiver;

before(async () => {
  user = await startUserIdp();
  dir = await tempDir(suite);
  await writeFile(join(dir, 'user-jwks'), JSON.stringify(user.issuer.jwks));
  receiver = await startOtlpReceiver();
  suite.after(() => receiver.close());
  idp = await startTokenIdp({ trust: [user.trust] });
  suite.after(() => idp.close());
  crm = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: CRM, name: 'crm' });
  wiki = await startTokenCheckingUpstream({ issuer: idp.issuer, jwks: idp.jwks, audience: WIKI, name: 'wiki' });
  suite.after(() => crm.close());
  suite.after(() => wiki.close());
});

function exchangeTarget(name: string, url: string, audience: string): Readonly<Record<string, unknown>> {
  return {
    name,
    mcp: { host: url },
    policies: {
      backendAuth: {
        oauthTokenExchange: {
          host: idp.issuer,
          path: '/token',
          clientAuth: { clientId: idp.clients.basic.clientId, clientSecret: idp.clients.basic.clientSecret },
          audiences: [audience],
        },
      },
    },
  };
}

/** jwtAuth against the user's IdP, crm and wiki each exchanging the caller's token, and this tracing. */
function config(tracing: Readonly<Record<string, unknown>>, legacy = false): string {
  const route = {
    policies: { jwtAuth: { mode: 'strict', issuer: USER_ISSUER, audiences: ['portcullis'], jwks: { file: './user-jwks' } } },
    backends: [{ mcp: { targets: [exchangeTarget('crm', crm.url, CRM), exchangeTarget('wiki', wiki.url, WIKI)] } }],
  };
  const binds = [{ port: 0, listeners: [{ routes: [route] }] }];
  return stringify(legacy ? { config: { tracing }, binds } : { frontendPolicies: { tracing }, binds });
}


/** `00-<trace>-<span>-<flags>` split. */
function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; flags: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value ?? '');
  assert.ok(m !== null, `a W3C traceparent: ${String(value)}`);
  return { traceId: m[1] ?? '', parentId: m[2] ?? '', flags: m[3] ?? '' };
}

describe('tracing a tools/call through two targets with token exchange (OTLP/HTTP, protobuf)', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(suite, {
      cwd: dir,
      configText: config({ host: receiver.httpHost, protocol: 'http', randomSampling: true, attributes: { user: 'jwt.sub', 'tool.call': 'mcp.tool.name', answered: 'response.code', bearer: '"Bearer " + jwt.sub + ".x.y"' } }),
    });
  });

  it('server span, a client span per upstream call, an Oidc span per token endpoint call, and the context each received', async () => {
    const token = await user.token('carol');
    const seenBefore = crm.seen.length;
    const idpCallsBefore = idp.calls.length;
    const reply = await mcpFetch(gw.url, rpc(7, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(JSON.parse(toolText(resultOf(reply))), { sub: 'carol', aud: CRM });

    const server = await receiver.waitForSpan((s) => s.kind === SPAN_KIND.server && s.attributes['jwt.sub'] === 'carol' && s.name === 'tools/call');
    assert.equal(server.parentSpanId, '', 'no client trace: a root span');
    assert.equal(server.scope, 'portcullis');
    assert.equal(server.resource['service.name'], 'portcullis');
    assert.equal(server.status.code, 0);
    assert.deepEqual(
      { ...server.attributes, duration: undefined, 'src.addr': undefined },
      {
        gateway: 'bind/0',
        listener: 'listener0',
        route_rule: 'route0/default',
        route: 'route0',
        'src.addr': undefined,
        'http.method': 'POST',
        'http.host': '127.0.0.1',
        'http.path': '/mcp',
        'http.version': 'HTTP/1.1',
        'http.status': 200,
        'trace.id': server.traceId,
        'span.id': server.spanId,
        'jwt.sub': 'carol',
        protocol: 'mcp',
        'mcp.method.name': 'tools/call',
        'mcp.target': 'crm',
        'mcp.resource.type': 'tool',
        'gen_ai.tool.name': 'whoami',
        duration: undefined,
        'url.scheme': 'http',
        'network.protocol.version': '1.1',
        user: 'carol',
        'tool.call': 'whoami',
        answered: 200,
        bearer: '<redacted>',
      },
    );
    assert.match(String(server.attributes['duration']), /^\d+ms$/);

    const client = await receiver.waitForSpan((s) => s.parentSpanId === server.spanId && s.name === 'tools/call crm_whoami');
    assert.equal(client.kind, SPAN_KIND.client);
    assert.equal(client.traceId, server.traceId);
    assert.deepEqual(client.attributes, {
      'agentgateway.outbound.kind': 'Primary',
      'agentgateway.outbound.subtype': 'Mcp',
      'mcp.target': 'crm',
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'whoami',
      'http.status': 200,
    });
    assert.ok(client.startNs >= server.startNs && client.endNs <= server.endNs, 'the call lies within the request');

    const oidc = await receiver.waitForSpan((s) => s.parentSpanId === client.spanId);
    assert.equal(oidc.name, 'Oidc');
    assert.equal(oidc.kind, SPAN_KIND.client);
    assert.equal(oidc.traceId, server.traceId);
    assert.deepEqual(oidc.attributes, {
      'agentgateway.outbound.kind': 'Policy',
      'agentgateway.outbound.subtype': 'Oidc',
      'http.method': 'POST',
      'http.host': '127.0.0.1',
      'http.path': '/token',
      'http.status': 200,
    });

    // What went out carried the span it was made under.
    const upstreamSaw = parseTraceparent(crm.seen.slice(seenBefore).at(-1)?.traceparent);
    assert.deepEqual(upstreamSaw, { traceId: server.traceId, parentId: client.spanId, flags: '01' });
    const calls = idp.calls.slice(idpCallsBefore);
    assert.equal(calls.length, 1);
    const header = calls[0]?.headers['traceparent'];
    assert.deepEqual(parseTraceparent(typeof header === 'string' ? header : undefined), { traceId: server.traceId, parentId: oidc.spanId, flags: '01' });

    const line = gw.log.accessLines().find((l) => l.includes(`trace.id=${server.traceId}`));
    assert.ok(line !== undefined, `an access line with trace.id=${server.traceId}:\n${gw.log.accessLines().join('\n')}`);
    assert.match(line, new RegExp(`http\\.status=200 trace\\.id=${server.traceId} span\\.id=${server.spanId} jwt\\.sub=carol`));
  });

  it('a list fanned out to both targets: one client span and one token exchange per target, under one server span', async () => {
    const token = await user.token('dave');
    const reply = await mcpFetch(gw.url, rpc(8, 'tools/list'), { token });
    assert.equal(reply.status, 200, reply.text);
    const server = await receiver.waitForSpan((s) => s.kind === SPAN_KIND.server && s.attributes['jwt.sub'] === 'dave');
    assert.equal(server.name, 'tools/list');
    const clients = await Promise.all(['crm', 'wiki'].map((t) => receiver.waitForSpan((s) => s.parentSpanId === server.spanId && s.name === `tools/list ${t}`)));
    for (const [i, c] of clients.entries()) {
      assert.equal(c.attributes['mcp.target'], ['crm', 'wiki'][i]);
      assert.equal(c.attributes['mcp.method.name'], 'tools/list');
      const oidc = await receiver.waitForSpan((s) => s.parentSpanId === c.spanId);
      assert.equal(oidc.name, 'Oidc');
      assert.equal(oidc.traceId, server.traceId);
    }
    // Each upstream got its own call's span as the parent.
    assert.equal(parseTraceparent(crm.seen.at(-1)?.traceparent).parentId, clients[0]?.spanId);
    assert.equal(parseTraceparent(wiki.seen.at(-1)?.traceparent).parentId, clients[1]?.spanId);
  });

  it('a request refused by jwtAuth is a server span with an error status and no upstream call', async () => {
    const reply = await mcpFetch(gw.url, rpc(9, 'tools/list'), { token: 'not-a-jwt' });
    assert.equal(reply.status, 401);
    const server = await receiver.waitForSpan((s) => s.kind === SPAN_KIND.server && s.attributes['http.status'] === 401);
    assert.equal(server.status.code, 2);
    assert.match(server.status.message, /^authentication failure: /);
    assert.equal(server.name, 'POST route0');
    assert.equal(receiver.spans.filter((s) => s.parentSpanId === server.spanId).length, 0);
  });
});

describe('client traces and sampling (OTLP/gRPC, the deprecated config.tracing)', () => {
  let gw: TestGateway;

  before(async () => {
    // randomSampling unset: only what a client traces is traced.
    gw = await startTestGateway(suite, { cwd: dir, configText: config({ otlpEndpoint: `grpc://${receiver.grpcHost}`, headers: { 'x-collector-key': 'k1' } }, true) });
  });

  it("a client's sampled traceparent is honoured: its trace, its span as the parent, propagated upstream", async () => {
    const token = await user.token('erin');
    const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const reply = await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'wiki_whoami', arguments: {} }), { token, headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` } });
    assert.equal(reply.status, 200, reply.text);
    const server = await receiver.waitForSpan((s) => s.traceId === clientTrace && s.kind === SPAN_KIND.server);
    assert.equal(server.parentSpanId, clientSpan);
    assert.equal(server.name, 'tools/call');
    const client = await receiver.waitForSpan((s) => s.parentSpanId === server.spanId);
    assert.equal(client.name, 'tools/call wiki_whoami');
    assert.deepEqual(parseTraceparent(wiki.seen.at(-1)?.traceparent), { traceId: clientTrace, parentId: client.spanId, flags: '01' });
    assert.equal(receiver.lastHeaders['x-collector-key'], 'k1', 'config.tracing.headers go with the export');
  });

  it('random sampling is off by default: a request without traceparent is neither traced nor given one; an unsampled one is propagated, not recorded', async () => {
    const token = await user.token('frank');
    const untraced = await mcpFetch(gw.url, rpc(2, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token });
    assert.equal(untraced.status, 200, untraced.text);
    assert.equal(crm.seen.at(-1)?.traceparent, undefined);
    const unsampledTrace = 'a'.repeat(32);
    const unsampled = await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token, headers: { traceparent: `00-${unsampledTrace}-${'b'.repeat(16)}-00` } });
    assert.equal(unsampled.status, 200, unsampled.text);
    const propagated = parseTraceparent(crm.seen.at(-1)?.traceparent);
    assert.equal(propagated.traceId, unsampledTrace);
    assert.equal(propagated.flags, '00');
    assert.notEqual(propagated.parentId, 'b'.repeat(16));
    // A traced request after them: once its spans are in, anything of the two before would be too
    // (the batch processor exports in the order spans end).
    const marker = 'c'.repeat(32);
    await mcpFetch(gw.url, rpc(4, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token, headers: { traceparent: `00-${marker}-${'d'.repeat(16)}-01` } });
    await receiver.waitForSpan((s) => s.traceId === marker && s.kind === SPAN_KIND.server);
    await receiver.waitForSpan((s) => s.traceId === marker && s.kind === SPAN_KIND.client);
    assert.equal(receiver.spans.filter((s) => s.attributes['jwt.sub'] === 'frank').length, 1, 'only the marker request of frank was recorded');
    assert.equal(receiver.spans.filter((s) => s.traceId === unsampledTrace).length, 0);
    const lines = gw.log.accessLines().filter((l) => l.includes('jwt.sub=frank'));
    assert.equal(lines.length, 3);
    assert.ok(!(lines[0] ?? '').includes('trace.id='), 'the untraced request has no trace.id');
    assert.ok((lines[1] ?? '').includes(`trace.id=${unsampledTrace}`), 'an unsampled trace is still logged');
  });
});

describe('clientSampling and a filter', () => {
  it('clientSampling false ignores the client trace; a filter that is false drops the spans', async () => {
    const gw = await startTestGateway(suite, {
      cwd: dir,
      configText: config({ host: receiver.httpHost, protocol: 'http', clientSampling: false, randomSampling: 'request.headers["x-trace-me"] == "yes"', filter: 'mcp.method != "tools/list"' }),
    });
    const token = await user.token('grace');
    const clientTrace = 'e'.repeat(32);
    await mcpFetch(gw.url, rpc(1, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token, headers: { traceparent: `00-${clientTrace}-${'f'.repeat(16)}-01` } });
    // Forwarded as the client sent it: the gateway did not take part in that trace.
    assert.equal(crm.seen.at(-1)?.traceparent, `00-${clientTrace}-${'f'.repeat(16)}-01`);
    await mcpFetch(gw.url, rpc(2, 'tools/list'), { token, headers: { 'x-trace-me': 'yes' } });
    await mcpFetch(gw.url, rpc(3, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token, headers: { 'x-trace-me': 'yes' } });
    const call = await receiver.waitForSpan((s) => s.attributes['jwt.sub'] === 'grace' && s.kind === SPAN_KIND.server);
    assert.equal(call.name, 'tools/call');
    await receiver.waitForSpan((s) => s.parentSpanId === call.spanId);
    assert.equal(receiver.spans.filter((s) => s.traceId === clientTrace).length, 0);
    assert.equal(receiver.spans.filter((s) => s.attributes['jwt.sub'] === 'grace').length, 1, 'the filtered tools/list left no server span');
    assert.equal(receiver.spans.filter((s) => s.name === 'tools/list crm' && s.traceId !== call.traceId && !receiver.spans.some((x) => x.spanId === s.parentSpanId)).length, 0, 'nor client spans');
  });
});

describe('a stdio target', () => {
  it('gets the call\'s trace context in params._meta (SEP-414)', async () => {
    const gw = await startTestGateway(suite, {
      configText: stringify({
        frontendPolicies: { tracing: { host: receiver.httpHost, protocol: 'http', randomSampling: true } },
        binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'scripted', stdio: { cmd: process.execPath, args: [scriptedStdioEntry] } }] } }] }] }] }],
      }),
    });
    const { sessionId } = await openMcpSession(gw.url);
    assert.ok(sessionId !== undefined);
    const reply = await mcpFetch(gw.url, rpc(5, 'tools/call', { name: 'echo', arguments: { message: 'hi', big: 12345678901234567000 } }), { sessionId });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(toolText(resultOf(reply)), 'echo: hi');
    const client = await receiver.waitForSpan((s) => s.name === 'tools/call scripted_echo');
    const noted = await gw.log.waitFor(/tools\/call _meta\.traceparent /);
    const value = /_meta\.traceparent (\S+)/.exec(noted)?.[1];
    assert.deepEqual(parseTraceparent(value), { traceId: client.traceId, parentId: client.spanId, flags: '01' });
  });
});

describe('a reload', () => {
  it('that changes frontendPolicies.tracing traces the next requests with the new policy', async () => {
    const file = join(dir, 'tracing-reload.yaml');
    const tracing = (version: string): Readonly<Record<string, unknown>> => ({ host: receiver.httpHost, protocol: 'http', randomSampling: true, attributes: { 'config.version': `"${version}"` } });
    await writeFile(file, config(tracing('one')));
    const gw = await startTestGateway(suite, { cwd: dir, configFile: file, watch: false });
    const token = await user.token('heidi');
    const call = (id: number) => mcpFetch(gw.url, rpc(id, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token });
    assert.equal((await call(1)).status, 200);
    await receiver.waitForSpan((s) => s.attributes['jwt.sub'] === 'heidi' && s.attributes['config.version'] === 'one');
    await writeFile(file, config(tracing('two')));
    assert.deepEqual(await gw.gateway.reload(), { ok: true });
    assert.equal((await call(2)).status, 200);
    const after = await receiver.waitForSpan((s) => s.attributes['jwt.sub'] === 'heidi' && s.attributes['config.version'] === 'two');
    assert.equal(after.name, 'tools/call');
    // Tracing off again: no more spans for her (a later traced request shows what came before).
    await writeFile(file, config({ host: receiver.httpHost, protocol: 'http' }));
    assert.deepEqual(await gw.gateway.reload(), { ok: true });
    assert.equal((await call(3)).status, 200);
    const marker = '9'.repeat(32);
    await mcpFetch(gw.url, rpc(4, 'tools/call', { name: 'crm_whoami', arguments: {} }), { token, headers: { traceparent: `00-${marker}-${'8'.repeat(16)}-01` } });
    await receiver.waitForSpan((s) => s.traceId === marker && s.kind === SPAN_KIND.server);
    assert.equal(receiver.spans.filter((s) => s.attributes['jwt.sub'] === 'heidi').length, 3);
  });
});
