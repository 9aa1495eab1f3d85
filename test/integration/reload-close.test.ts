// close() ends reloading for good: a reload in flight when the gateway closes (held up by a slow
// IdP) does not install its config or listen again, a reload asked for afterwards does nothing,
// and a file change just before close() does not fire its (debounced) reload afterwards.
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { accepts } from '../../bench/processes.js';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { tempDir } from '../helpers/files.js';
import { LAB_AUDIENCE, LAB_ISSUER, startTestGateway } from '../helpers/gateway-harness.js';
import { startJwksServer } from '../helpers/jwks-server.js';
import { makeIssuer } from '../helpers/keys.js';
import { freePort } from '../helpers/ports.js';
import { singleRouteYaml } from '../helpers/route-yaml.js';

const CLOSED = { ok: false, issues: [{ path: '<gateway>', message: 'the gateway is closing' }] };

async function setup(t: test.TestContext) {
  const echo = await startEchoServer({ port: 0, mode: 'stateful' });
  t.after(() => echo.close());
  const dir = await tempDir(t);
  const port = await freePort();
  // singleRouteYaml binds port 0; a fixed port lets the test see whether anything listens again.
  const config = (policies: Readonly<Record<string, unknown>>): string => singleRouteYaml(echo.url, policies).replace('port: 0', `port: ${port}`);
  return { dir, port, file: join(dir, 'gateway.yaml'), config };
}

test('a reload in flight across close() neither applies nor listens again; a reload after close() does nothing', async (t) => {
  const { dir, port, file, config } = await setup(t);
  const issuer = await makeIssuer();
  const jwks = await startJwksServer({ keys: issuer.jwks.keys });
  t.after(() => jwks.close());
  await writeFile(file, config({}));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file, watch: false });
  assert.equal(await accepts(port), true);

  const held = jwks.holdNext();
  await writeFile(file, config({ jwtAuth: { mode: 'strict', issuer: LAB_ISSUER, audiences: [LAB_AUDIENCE], jwks: { url: jwks.jwksUrl } } }));
  const inFlight = gw.gateway.reload();
  await held.arrived;
  const closing = gw.gateway.close({ drainMs: 0 });
  held.release();
  await closing;
  const from = gw.log.lines.length;
  assert.deepEqual(await inFlight, CLOSED);
  assert.deepEqual(await gw.gateway.reload(), CLOSED);
  assert.equal(await accepts(port), false, 'nothing listens on the bind after close()');
  assert.deepEqual(gw.log.lines.slice(from).filter((l) => /started bind|Config reloaded successfully/.test(l)), []);
  assert.equal(gw.gateway.metrics.reloads.get({ result: 'ok' }), 0);
});

test('a file change just before close(): its debounced reload does not run after close()', async (t) => {
  const { dir, port, file, config } = await setup(t);
  await writeFile(file, config({}));
  const gw = await startTestGateway(t, { cwd: dir, configFile: file });
  await gw.log.waitFor(/Watching config file/);

  // The test's own watch on the directory shares the gateway's inotify watch: once it has seen
  // the change (and a turn of the event loop has passed), the gateway has seen it too, and its
  // debounce timer is set — on the mocked clock, so that the test can run it out at once.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen = new Promise<void>((resolve) => {
    const w = watch(dirname(file), () => {
      w.close();
      setImmediate(resolve);
    });
  });
  await writeFile(file, config({ authorization: { rules: ['false'] } }));
  await seen;
  await gw.gateway.close({ drainMs: 0 });
  const from = gw.log.lines.length;
  // Past the 250 ms debounce: a reload still pending would start (and log) now.
  t.mock.timers.tick(1_000);
  t.mock.timers.reset();
  assert.deepEqual(gw.log.lines.slice(from).filter((l) => /reload/i.test(l)), []);
  assert.equal(await accepts(port), false, 'nothing listens on the bind after close()');
});
