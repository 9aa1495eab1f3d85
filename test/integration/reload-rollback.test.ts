// A reload that cannot be applied in full is not applied at all: when a new bind cannot listen
// (its port is taken), the old config stays in force whole (rules and binds), reload() answers
// with the reason instead of throwing, and the failure is logged and counted. Remote keys the
// failed reload fetched still reach the live config (a reload refetches every remote JWKS).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { tempDir } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { inSeconds, makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { freePort, holdPort } from '../helpers/ports.js';

interface BindSpec {
  readonly port: number;
  /** HTTP authorization: every request through, or none */
  readonly allow: boolean;
  /** jwtAuth (strict) with keys from this JWKS URL */
  readonly jwksUrl?: string;
}

/** One bind per entry, each with one route. */
function config(upstreamUrl: string, binds: readonly BindSpec[]): string {
  return stringify({
    binds: binds.map((b) => ({
      port: b.port,
      listeners: [{
        routes: [{
          policies: {
            authorization: { rules: [b.allow ? 'true' : 'false'] },
            ...(b.jwksUrl === undefined ? {} : { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: b.jwksUrl } } }),
          },
          backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstreamUrl } }] } }],
        }],
      }],
    })),
  });
}

async function status(port: number, token?: string): Promise<number> {
  return (await mcpFetch(`http://127.0.0.1:${port}/mcp`, initializeRequest(), token === undefined ? {} : { token })).status;
}

test('a new bind that cannot listen: nothing of the new config applies, the failure is reported, a later reload applies it', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  // on every interface: the gateway's bind cannot listen there
  const busy = await holdPort(t, '0.0.0.0');
  const dir = await tempDir(t);
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, config(echo.url, [{ port: 0, allow: false }]));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false });
  const oldPort = gw.gateway.port;
  assert.equal(await status(oldPort), 403, 'the first config denies everything');

  // The new config drops the old bind, allows everything and adds a bind on the taken port.
  await writeFile(file, config(echo.url, [{ port: busy.port, allow: true }]));
  const from = gw.log.lines.length;
  const result = await gw.gateway.reload();
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), new RegExp(`could not listen on .*:${busy.port}`));
  assert.match(await gw.log.waitFor(/Failed to reload config|Config reloaded successfully/, { fromLine: from }), /Failed to reload config: .*could not listen/);
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'error' }), 1);
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'ok' }), 0);
  assert.equal(await status(oldPort), 403, 'the old rules still apply on the old bind, which is still open');
  assert.deepEqual([...gw.gateway.ports.keys()], ['bind/0'], 'no bind of the new config is left listening');

  // Once the port is free the same file applies in full: the new bind serves the new rules and the old bind is closed.
  await busy.close();
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  assert.equal(await status(busy.port), 200);
  await assert.rejects(status(oldPort), 'the dropped bind no longer accepts connections');
  assert.deepEqual([...gw.gateway.ports.keys()], [`bind/${busy.port}`]);
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'ok' }), 1);
});

test('keys that a failed reload fetched reach the live config', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const first = await makeIssuer({ kid: 'key-0' });
  const jwks = await startJwksServer({ keys: first.jwks.keys });
  t.after(() => jwks.close());
  // on every interface: the gateway's bind cannot listen there
  const busy = await holdPort(t, '0.0.0.0');
  const dir = await tempDir(t);
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, config(echo.url, [{ port: 0, allow: true, jwksUrl: jwks.jwksUrl }]));
  // No unknown-kid refetch: the test is about the keys the reload fetched, not about that path.
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false, jwksCooldownMs: 3_600_000 });
  const claims = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, sub: 'jsmith', iat: inSeconds(0), exp: inSeconds(600) };
  assert.equal(await status(gw.gateway.port, await first.sign(claims)), 200);

  // The IdP rotates its key; a reload refetches it, then fails on the taken port.
  const second = await makeIssuer({ kid: 'key-1' });
  jwks.setKeys(second.jwks.keys);
  await writeFile(file, config(echo.url, [{ port: 0, allow: true, jwksUrl: jwks.jwksUrl }, { port: busy.port, allow: true }]));
  const result = await gw.gateway.reload();
  assert.equal(result.ok, false);
  assert.equal(await status(gw.gateway.port, await second.sign(claims)), 200, 'a token signed with the key the reload fetched');
  assert.equal(await status(gw.gateway.port, await first.sign(claims)), 401, 'a token signed with the key the IdP dropped');
});

test('gateway.port follows a reload that moves the first bind to another port', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const dir = await tempDir(t);
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, config(echo.url, [{ port: 0, allow: true }]));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false });
  const port = await freePort();
  await writeFile(file, config(echo.url, [{ port, allow: true }]));
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  assert.equal(gw.gateway.port, port);
  assert.equal(await status(gw.gateway.port), 200);
});
