// `config:` is read at start only (agentgateway reads it once): a reload applies the new routes
// and policies, keeps the start's runtime settings, says so in the log, and config_dump shows
// the settings in effect, not the file's.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { tempDir } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { isRecord } from '../helpers/mcp-http.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

test('a reload keeps the start config: block, logs that it changed, and config_dump shows what is in effect', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const dir = await tempDir(t);
  const file = join(dir, 'gateway.yaml');
  const config = (runtime: string, rule: string): string => `${singleRouteYaml(echo.url, { mcpAuthorization: { rules: [rule] } })}config:\n${runtime}`;
  await writeFile(file, config('  listCacheBytes: 1024\n', 'true'));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false, adminAddr: '127.0.0.1:0' });
  const admin = gw.gateway.opsPorts.admin;
  assert.ok(admin !== null);
  const dump = async (): Promise<Record<string, unknown>> => {
    const v: unknown = await (await fetch(`http://127.0.0.1:${admin}/config_dump`, { headers: { connection: 'close' } })).json();
    assert.ok(isRecord(v));
    return v;
  };

  const from = gw.log.lines.length;
  await writeFile(file, config('  listCacheBytes: 0\n', 'false'));
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  assert.match(await gw.log.waitFor(/config: block changed/, { fromLine: from }), /read at start only and take effect after a restart/);
  const after = await dump();
  const runtime = after['runtime'];
  assert.ok(isRecord(runtime));
  assert.equal(runtime['listCacheBytes'], 1024, 'the start value stays in effect');
  assert.match(JSON.stringify(after['binds']), /"false"/, 'the new rule is in effect');

  // Unchanged config: block, no warning.
  const quiet = gw.log.lines.length;
  await writeFile(file, config('  listCacheBytes: 1024\n', 'true'));
  assert.deepEqual(await gw.gateway.reload(), { ok: true });
  assert.deepEqual(gw.log.lines.slice(quiet).filter((l) => /config: block changed/.test(l)), []);
});
