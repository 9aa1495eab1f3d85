// Programs embed the gateway through the package entry. Two gateways in one process hold no
// shared state, can listen on the same port (SO_REUSEPORT, as several processes do), and both
// close cleanly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway, ConfigError, type Gateway } from 'portcullis';
import { startEchoServer } from '../../examples/echo-server/server.js';
import { freePort } from '../helpers/ports.js';

function yaml(port: number, upstream: string): string {
  return `binds:\n- port: ${port}\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n          targets:\n          - name: mcp\n            mcp: { host: "${upstream}" }\n`;
}

const quiet = { workers: 0, adminAddr: null, statsAddr: null, readinessAddr: null, logSink: { write: () => {} } } as const;

async function ping(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', connection: 'close' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  await res.text();
  return res.status;
}

test("two gateways from the package entry share one port and close cleanly", async (t) => {
  const echo = await startEchoServer({ mode: 'stateless-json' });
  t.after(() => echo.close());
  const first: Gateway = await startGateway({ ...quiet, configText: yaml(await freePort(), echo.url) });
  t.after(() => first.close({ drainMs: 0 }));
  const second: Gateway = await startGateway({ ...quiet, configText: yaml(first.port, echo.url) });
  t.after(() => second.close({ drainMs: 0 }));
  assert.equal(second.port, first.port);
  for (let i = 0; i < 4; i++) assert.equal(await ping(first.port), 200);
  await first.close({ drainMs: 0 });
  // The port stays served by the second one.
  assert.equal(await ping(first.port), 200);
});

test('a bad config is a ConfigError with the issues, and nothing listens', async () => {
  await assert.rejects(
    startGateway({ ...quiet, configText: 'binds: [{ port: 0, listeners: [{ routes: [{ policies: { nope: 1 } }] }] }]' }),
    (err: unknown) => err instanceof ConfigError && err.code === 'GW_CONFIG_INVALID' && err.issues.some((i) => i.path.endsWith('policies.nope')),
  );
});
