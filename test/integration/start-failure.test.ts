// startGateway for programs that embed it (DESIGN.md: "must start and stop cleanly"): a start that
// fails after the binds are listening (an ops listener whose port is taken) rejects and leaves
// nothing behind: no bind still answering requests, no worker thread. Threads are counted in
// /proc/self/task (exact without waiting: Node joins a worker's thread before its pool's close
// resolves).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { startGateway } from '../../src/main/gateway.js';
import { gatewayYaml, LogCapture } from '../helpers/gateway-harness.js';
import { freePort } from '../helpers/ports.js';

const skip = process.platform === 'linux' ? false : 'counts threads in /proc/self/task';
const threads = (): number => readdirSync('/proc/self/task').length;

async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { port: addr.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('an ops listener that cannot listen: startGateway rejects and the bind and worker threads it opened are gone', { skip }, async (t) => {
  const taken = await occupiedPort();
  t.after(() => taken.close());
  const port = await freePort();
  const before = threads();
  await assert.rejects(
    startGateway({
      configText: gatewayYaml({ upstreamUrl: 'http://127.0.0.1:9/mcp', mode: null, port }),
      workers: 1,
      adminAddr: `127.0.0.1:${taken.port}`,
      statsAddr: null,
      readinessAddr: null,
      logSink: new LogCapture(),
    }),
    /could not listen on 127\.0\.0\.1:\d+ \(admin\)/,
  );
  await assert.rejects(fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }), (err: unknown) => {
    assert.ok(err instanceof TypeError && err.cause instanceof Error);
    assert.match(err.cause.message, /ECONNREFUSED/);
    return true;
  });
  assert.equal(threads(), before, 'worker threads left after the failed start');
});
