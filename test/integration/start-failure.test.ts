// startGateway for programs that embed it (DESIGN.md: "must start and stop cleanly"): a start that
// fails after the binds are listening (an ops listener whose port is taken) rejects and leaves
// nothing behind: no bind still answering requests, no worker thread. Threads are counted in
// /proc/self/task (exact without waiting: Node joins a worker's thread before its pool's close
// resolves).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('a config directory gone before it could be watched: startGateway rejects, naming the file, and its bind is closed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, gatewayYaml({ upstreamUrl: 'http://127.0.0.1:9/mcp', mode: null, port }));
  // The directory disappears once the bind listens, before the watch starts (as when a
  // ConfigMap volume goes away during a start): the log line is written synchronously.
  const log = new LogCapture();
  const sink = {
    write: (chunk: string): void => {
      if (chunk.includes('started bind')) rmSync(dir, { recursive: true, force: true });
      log.write(chunk);
    },
  };
  await assert.rejects(
    startGateway({ configFile: file, workers: 0, adminAddr: null, statsAddr: null, readinessAddr: null, logSink: sink }),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /cannot watch the config file .*config\.yaml: .*ENOENT/);
      return true;
    },
  );
  await assert.rejects(fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }), (err: unknown) => {
    assert.ok(err instanceof TypeError && err.cause instanceof Error);
    assert.match(err.cause.message, /ECONNREFUSED/);
    return true;
  });
});
