// Reloads that overlap apply in order, and the newest file content is what stays in force: a
// reload held up by a slow IdP (its JWKS fetch) must not install its older file over a later
// one. Here the older file adds jwtAuth and the newer one takes it out again, so the wrong
// order would leave the gateway asking for tokens the file no longer asks for.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { tempDir } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { makeIssuer } from '../helpers/keys.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

test('a slow reload of an older file never replaces a newer one; reloads asked for meanwhile share one run', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const issuer = await makeIssuer();
  const jwks = await startJwksServer({ keys: issuer.jwks.keys });
  t.after(() => jwks.close());
  const dir = await tempDir(t);
  const file = join(dir, 'gateway.yaml');
  const allowing = (rule: string): string => singleRouteYaml(echo.url, { authorization: { rules: [rule] } });
  const withJwt = singleRouteYaml(echo.url, { jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwks.jwksUrl } } });
  await writeFile(file, allowing('true'));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false });
  const status = async (): Promise<number> => (await mcpFetch(gw.url, initializeRequest())).status;
  assert.equal(await status(), 200);

  // Edit 1 adds jwtAuth; its reload waits on the IdP.
  const held = jwks.holdNext();
  await writeFile(file, withJwt);
  const first = gw.gateway.reload();
  await held.arrived;
  // Edits 2 and 3 while it waits: the file ends up letting everything through again.
  await writeFile(file, allowing('false'));
  const second = gw.gateway.reload();
  await writeFile(file, allowing('true'));
  const third = gw.gateway.reload();
  held.release();

  assert.deepEqual(await Promise.all([first, second, third]), [{ ok: true }, { ok: true }, { ok: true }]);
  assert.equal(await status(), 200, 'the newest file is in force: no jwtAuth, everything allowed');
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'ok' }), 1, 'one config applied: the newest (the older one was dropped once built, 2 and 3 shared a run)');
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'error' }), 0);
});
