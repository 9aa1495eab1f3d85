// A request in flight when its policy engine is replaced — by a config reload, or by new keys from
// a remote JWKS — with a worker pool (`workers: 1`). The upstream holds a tools/list answer until
// the replacement has happened: the client still gets the list filtered by the rules it started
// under (not a broken connection), and once the gateway has closed no worker thread is left in the
// process (a retired pool must not start a fresh worker for a late task). Threads are counted in
// /proc/self/task: Node joins a worker's thread before the pool's close resolves, so the count is
// exact without waiting. (After new keys the relay asks the generation's current engine at each
// call, so the held list lands on the new one; that test guards the path.)
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startGatedUpstream, type GatedUpstream } from '../helpers/gated-upstream.js';
import { gatewayYaml, labKeys, LAB_AUDIENCE, LAB_ISSUER, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, itemNames, mcpFetch, openMcpSession, resultOf, rpc, type McpReply, type McpRequestOptions } from '../helpers/mcp-http.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const skip = process.platform === 'linux' ? false : 'counts threads in /proc/self/task';
const threads = (): number => readdirSync('/proc/self/task').length;

/** A tools/list on the session that the upstream holds; settles once the list has reached it. */
async function listInFlight(upstream: GatedUpstream, gw: TestGateway, token: string, sessionId: string | undefined) {
  const held = upstream.holdNextList();
  const reply = mcpFetch(gw.url, rpc(20, 'tools/list'), onSession(token, sessionId));
  await held.arrived;
  return { release: held.release, reply };
}

function onSession(token: string, sessionId: string | undefined): McpRequestOptions {
  return sessionId === undefined ? { token } : { token, sessionId };
}

function toolNames(reply: McpReply): string[] {
  assert.equal(reply.status, 200, reply.text);
  return itemNames(resultOf(reply), 'tools');
}

test('a list in flight across a reload is filtered by the rules it started under; no worker thread outlives close', { skip }, async (t) => {
  const keys = await labKeys(t);
  const upstream = await startGatedUpstream();
  t.after(() => upstream.close());
  const config = (tool: string): string => gatewayYaml({ upstreamUrl: upstream.url, rules: [`mcp.tool.name == "${tool}"`] });
  await writeFile(join(keys.dir, 'gateway.yaml'), config('echo'));
  const before = threads();
  const gw = await startTestGateway(t, { cwd: keys.dir, configFile: 'gateway.yaml', watch: false, workers: 1 });
  assert.equal(threads(), before + 1, 'the pool runs one worker thread');
  const { sessionId } = await openMcpSession(gw.url, { token: keys.jsmith });

  for (const [from, to] of [['echo', 'add'], ['add', 'echo'], ['echo', 'add']] as const) {
    const inFlight = await listInFlight(upstream, gw, keys.jsmith, sessionId);
    await writeFile(join(keys.dir, 'gateway.yaml'), config(to));
    assert.deepEqual(await gw.gateway.reload(), { ok: true });
    inFlight.release();
    assert.deepEqual(toolNames(await inFlight.reply), [from], `the list that was in flight, reloading ${from} → ${to}`);
    assert.deepEqual(toolNames(await mcpFetch(gw.url, rpc(21, 'tools/list'), onSession(keys.jsmith, sessionId))), [to], 'a list after the reload');
  }

  await gw.gateway.close({ drainMs: 5_000 });
  assert.equal(threads(), before, 'worker threads left after close');
});

test('a list in flight when new keys replace the policy engine is still filtered; no worker thread outlives close', { skip }, async (t) => {
  const first = await makeIssuer({ kid: 'key-0' });
  const jwks = await startJwksServer({ keys: first.jwks.keys });
  t.after(() => jwks.close());
  const upstream = await startGatedUpstream();
  t.after(() => upstream.close());
  const claims = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', iat: inSeconds(0), exp: inSeconds(600) };
  const token = await first.sign(claims);
  const before = threads();
  const gw = await startTestGateway(t, {
    configText: singleRouteYaml(upstream.url, {
      jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwks.jwksUrl } },
      mcpAuthorization: { rules: ['mcp.tool.name == "echo"'] },
    }),
    workers: 1,
    jwksCooldownMs: 0,
  });
  assert.equal(threads(), before + 1, 'the pool runs one worker thread');
  const { sessionId } = await openMcpSession(gw.url, { token });

  const published = [...first.jwks.keys];
  for (let round = 1; round <= 3; round++) {
    const issuer = await makeIssuer({ kid: `key-${round}` });
    const inFlight = await listInFlight(upstream, gw, token, sessionId);
    // A token signed by a key the gateway has not seen: it refetches the JWKS and, the key set
    // having changed, replaces the engine before answering.
    published.push(...issuer.jwks.keys);
    jwks.setKeys(published);
    const rekeyed = await mcpFetch(gw.url, initializeRequest(), { token: await issuer.sign(claims) });
    assert.equal(rekeyed.status, 200, rekeyed.text);
    inFlight.release();
    assert.deepEqual(toolNames(await inFlight.reply), ['echo'], `the list that was in flight, key change ${round}`);
  }

  await gw.gateway.close({ drainMs: 5_000 });
  assert.equal(threads(), before, 'worker threads left after close');
});
