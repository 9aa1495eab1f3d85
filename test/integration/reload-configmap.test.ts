// A config file mounted from a Kubernetes ConfigMap is reloaded when kubelet updates it. kubelet
// keeps each version in a `..<timestamp>` directory, points `..data` at the current one and the
// file at `..data/<file>`; an update writes a new version and swaps `..data` atomically (a new
// symlink renamed over it), so no event in the watched directory names the file itself.
// agentgateway reloads on such a change of a symlink's target; events for other entries of the
// directory that leave the file as it was do not reload.
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { tempDir } from '../helpers/files.js';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { initializeRequest, mcpFetch } from '../helpers/mcp-http.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const FILE = 'gateway.yaml';

/** Writes version `stamp` and points `..data` at it the way kubelet does. */
async function publish(dir: string, stamp: string, text: string): Promise<void> {
  await mkdir(join(dir, stamp));
  await writeFile(join(dir, stamp, FILE), text);
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
}

test('a kubelet-style ConfigMap update (the ..data symlink swapped) is reloaded; other files changing in the directory are not', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const dir = await tempDir(t);
  const allowing = (rule: string): string => singleRouteYaml(echo.url, { authorization: { rules: [rule] } });
  await publish(dir, '..2026_05_01_12_00_00.000000001', allowing('false'));
  await symlink(join('..data', FILE), join(dir, FILE));
  const gw = await startTestGateway(t, { cwd: dir, configFile: FILE });
  await gw.log.waitFor(/Watching config file/);
  const status = async (): Promise<number> => (await mcpFetch(gw.url, initializeRequest())).status;
  assert.equal(await status(), 403);

  let from = gw.log.lines.length;
  await publish(dir, '..2026_05_01_12_05_00.000000002', allowing('true'));
  await rm(join(dir, '..2026_05_01_12_00_00.000000001'), { recursive: true });
  assert.match(await gw.log.waitFor(/Config reloaded successfully|Failed to reload config/, { fromLine: from }), /Config reloaded successfully/);
  assert.equal(await status(), 200);

  // Another file in the directory changes: the config reads as before, nothing reloads. The
  // test's own watch shares the gateway's inotify watch, so once it has seen the write (and a
  // turn of the event loop has passed) the gateway has too, and set its debounce timer — on the
  // mocked clock, which the test then runs past the 250 ms at once.
  from = gw.log.lines.length;
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen = new Promise<void>((resolve) => {
    const w = watch(dir, () => {
      w.close();
      setImmediate(resolve);
    });
  });
  await writeFile(join(dir, 'unrelated.txt'), 'x');
  await seen;
  t.mock.timers.tick(1_000);
  t.mock.timers.reset();
  assert.deepEqual(gw.log.lines.slice(from).filter((l) => /reload/i.test(l)), []);
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'ok' }), 1);
});

test('a file written beside the config again and again does not hold its reload back', async (t) => {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const dir = await tempDir(t);
  const allowing = (rule: string): string => singleRouteYaml(echo.url, { authorization: { rules: [rule] } });
  await writeFile(join(dir, FILE), allowing('false'));
  const gw = await startTestGateway(t, { cwd: dir, configFile: FILE });
  await gw.log.waitFor(/Watching config file/);
  // a log beside the config, written every 50 ms (more often than the 250 ms debounce)
  let writes = 0;
  const writer = setInterval(() => void writeFile(join(dir, 'access.log'), String(writes++)), 50);
  t.after(() => clearInterval(writer));
  const from = gw.log.lines.length;
  await writeFile(join(dir, FILE), allowing('true'));
  assert.match(await gw.log.waitFor(/Config reloaded successfully|Failed to reload config/, { fromLine: from }), /Config reloaded successfully/);
  clearInterval(writer);
  assert.ok(writes > 0);
});
