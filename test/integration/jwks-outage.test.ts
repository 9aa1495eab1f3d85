// The identity provider's JWKS endpoint going down under a strict jwtAuth route with
// `jwks: {url}`: tokens keep verifying with the cached keys; a token naming an unknown kid fails
// closed (401 naming the unknown key and that the refresh fails; why it fails, which names the
// IdP's address, is for the log only; nothing upstream); once the endpoint is back with a new
// key, a token signed by it is accepted.
//
// The unknown-kid refetch is debounced (10 s, KeyRegistryOptions.cooldownMs, not settable
// through GatewayOptions), and the debounce counts every fetch, the startup one included. The
// test does not sleep through it: it moves performance.now(), the clock the cooldown reads,
// forward (helpers/monotonic-clock.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { LAB_AUDIENCE, LAB_ISSUER, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch, resultOf, type McpReply } from '../helpers/mcp-http.js';
import { DEFAULT_JWKS_COOLDOWN_MS, fakeMonotonicClock } from '../helpers/monotonic-clock.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

test('JWKS outage: cached keys keep working, an unknown kid fails closed, a new key is picked up after recovery', async (t) => {
  const clock = fakeMonotonicClock(t);
  const current = await makeIssuer({ kid: 'current-key' });
  const next = await makeIssuer({ kid: 'next-key' });
  const jwks = await startJwksServer({ keys: current.jwks.keys });
  t.after(() => jwks.close());
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const { gateway, url, log } = await startTestGateway(t, {
    configText: singleRouteYaml(upstream.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwks.jwksUrl } },
    }),
  });
  const metric = (outcome: string): number => gateway.metrics.jwt.get({ outcome });
  const refreshErrors = (): number => gateway.metrics.jwksRefreshes.get({ result: 'error', reason: 'unknown_kid' });
  const claims = (sub: string): Record<string, unknown> => ({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub, iat: inSeconds(0), exp: inSeconds(600) });
  const send = async (token: string): Promise<{ reply: McpReply; reached: number }> => {
    const before = upstream.requests.length;
    const reply = await mcpFetch(url, initializeRequest(), { token });
    return { reply, reached: upstream.requests.length - before };
  };
  const assertAccepted = ({ reply, reached }: { reply: McpReply; reached: number }, what: string): void => {
    assert.equal(reply.status, 200, `${what}: ${reply.text}`);
    assert.equal(resultOf(reply)['protocolVersion'], '2025-06-18');
    assert.equal(reached, 1, `${what}: reaches the upstream once`);
  };

  // 1. Healthy: the startup fetch got the key; a first token verifies.
  assert.equal(jwks.requestCount(), 1, 'one startup fetch');
  const first = await current.sign(claims('alice'));
  assertAccepted(await send(first), 'first token');

  // 2. The JWKS endpoint goes away.
  await jwks.stop();
  const ok = metric('ok');
  assertAccepted(await send(first), 'the already-verified token during the outage');
  const fresh = await current.sign(claims('bob'));
  assertAccepted(await send(fresh), 'a new token signed by the cached key during the outage');
  assert.equal(metric('ok'), ok + 2);

  // 3. A token naming a kid the gateway has never seen, once the cooldown since the startup
  //    fetch is over: the gateway tries the endpoint once, fails, keeps its keys, and refuses.
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const unknownKid = await next.sign(claims('carol'));
  const unknown = metric('unknown_kid');
  const logFrom = log.lines.length;
  const refused = await send(unknownKid);
  assert.equal(refused.reply.status, 401, refused.reply.text);
  assert.equal(refused.reached, 0, 'nothing reaches the upstream');
  assert.match(refused.reply.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  // Why the refresh failed names the IdP's address: the log has it, the client does not.
  assert.equal(refused.reply.text, 'authentication failure: unknown key "next-key" (JWKS refresh failing)');
  assert.ok(!(refused.reply.headers.get('www-authenticate') ?? '').includes(jwks.url), 'no IdP address in the challenge');
  assert.equal(metric('unknown_kid'), unknown + 1);
  assert.equal(refreshErrors(), 1, 'portcullis_jwks_refreshes_total{result="error",reason="unknown_kid"}');
  const warned = await log.waitFor(/JWKS refresh failed; keeping the last good keys/, { fromLine: logFrom });
  assert.ok(warned.includes(`GET ${jwks.jwksUrl} failed`), `the warning says why: ${warned}`);
  assert.ok(!warned.includes(unknownKid), 'the warning does not print the token');
  const accessLine = await log.waitFor(/JWKS refresh failing/, { fromLine: logFrom });
  assert.ok(!accessLine.includes(jwks.url), `access log: ${accessLine}`);

  // The failed refresh kept the last good keys.
  assertAccepted(await send(await current.sign(claims('dave'))), 'a token of the cached key after the failed refresh');

  // 4. The endpoint comes back, now publishing the next key too.
  jwks.setKeys([...current.jwks.keys, ...next.jwks.keys]);
  await jwks.restart();
  const fetchesBefore = jwks.requestCount();
  // Within the cooldown of the failed attempt the gateway does not ask again (debounce): still
  // refused, with the last refresh error, and no request to the endpoint.
  const debounced = await send(unknownKid);
  assert.equal(debounced.reply.status, 401, debounced.reply.text);
  assert.equal(debounced.reached, 0);
  assert.equal(jwks.requestCount(), fetchesBefore, 'no refetch within the cooldown');
  // After the cooldown the same token is accepted within one request: one refetch, no restart.
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const unknownBefore = metric('unknown_kid');
  assertAccepted(await send(unknownKid), 'the new key’s token after the endpoint recovered');
  assert.equal(jwks.requestCount(), fetchesBefore + 1, 'exactly one refetch');
  assert.equal(metric('unknown_kid'), unknownBefore, 'the request that triggered the refetch is counted once, as ok');
  await log.waitFor(/key set changed/, { fromLine: logFrom });
  // And the old key still works.
  assertAccepted(await send(first), 'the first token after recovery');

  for (const line of log.lines) {
    for (const token of [first, fresh, unknownKid]) assert.ok(!line.includes(token), `token in log line: ${line}`);
  }
});

test('readiness waits for a remote key set that has never loaded: not ready while the IdP is down at start, ready once its keys arrive', async (t) => {
  const clock = fakeMonotonicClock(t);
  const issuer = await makeIssuer({ kid: 'first-key' });
  const jwks = await startJwksServer({ keys: issuer.jwks.keys });
  t.after(() => jwks.close());
  jwks.failWith(503);
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const { gateway, url } = await startTestGateway(t, {
    readinessAddr: '127.0.0.1:0',
    configText: singleRouteYaml(upstream.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwks.jwksUrl } },
    }),
  });
  const readiness = async (): Promise<{ status: number; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${gateway.opsPorts.readiness ?? 0}/healthz/ready`, { headers: { connection: 'close' } });
    return { status: res.status, text: await res.text() };
  };
  assert.deepEqual(await readiness(), { status: 503, text: 'not ready, pending: jwks\n' });
  // The IdP is back; the next token that names a key the gateway lacks fetches the set.
  jwks.failWith(null);
  clock.advance(DEFAULT_JWKS_COOLDOWN_MS + 1_000);
  const token = await issuer.sign({ iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'alice', iat: inSeconds(0), exp: inSeconds(600) });
  const reply = await mcpFetch(url, initializeRequest(), { token });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(await readiness(), { status: 200, text: 'ready\n' });
});

test('once serving, a reload that adds a route whose IdP is down leaves the gateway ready', async (t) => {
  const issuer = await makeIssuer({ kid: 'up-key' });
  const good = await startJwksServer({ keys: issuer.jwks.keys });
  const down = await startJwksServer({ keys: [] });
  down.failWith(503);
  t.after(() => Promise.all([good.close(), down.close()]));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ready-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  const route = (path: string, jwksUrl: string) => ({
    matches: [{ path: { pathPrefix: path } }],
    policies: { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwksUrl } } },
    backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstream.url } }] } }],
  });
  const config = (routes: readonly object[]) => stringify({ binds: [{ port: 0, listeners: [{ routes }] }] });
  writeFileSync(file, config([route('/', good.jwksUrl)]));
  const { gateway } = await startTestGateway(t, { readinessAddr: '127.0.0.1:0', configFile: file });
  const readiness = async (): Promise<number> => (await fetch(`http://127.0.0.1:${gateway.opsPorts.readiness ?? 0}/healthz/ready`, { headers: { connection: 'close' } })).status;
  // no probe before the reload: readiness must not depend on one having come by
  writeFileSync(file, config([route('/other', down.jwksUrl), route('/', good.jwksUrl)]));
  assert.deepEqual(await gateway.reload(), { ok: true });
  assert.equal(await readiness(), 200);
});
