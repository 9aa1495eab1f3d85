// startGateway for programs that embed it (DESIGN.md: "must start and stop cleanly"): a start that
// fails after the binds are listening (an ops listener whose port is taken) rejects and leaves
// nothing behind: no bind still answering requests, no worker thread. Threads are counted in
// /proc/self/task (exact without waiting: Node joins a worker's thread before its pool's close
// resolves).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startGateway } from '../../src/main/gateway.js';
import { gatewayYaml, LogCapture } from '../helpers/gateway-harness.js';
import { freePort, holdPort } from '../helpers/ports.js';

const skip = process.platform === 'linux' ? false : 'counts threads in /proc/self/task';
const threads = (): number => readdirSync('/proc/self/task').length;

test('an ops listener that cannot listen: startGateway rejects and the bind and worker threads it opened are gone', { skip }, async (t) => {
  const taken = await holdPort(t);
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

test('a second gateway on the ops ports of a running one fails to start, naming the port and the listener, and frees what it opened', async (t) => {
  const first = await startGateway({
    configText: gatewayYaml({ upstreamUrl: 'http://127.0.0.1:9/mcp', mode: null }),
    workers: 0,
    adminAddr: '127.0.0.1:0',
    statsAddr: '127.0.0.1:0',
    readinessAddr: '127.0.0.1:0',
    logSink: new LogCapture(),
  });
  t.after(() => first.close({ drainMs: 0 }));
  const { admin, stats, readiness } = first.opsPorts;
  assert.ok(admin !== null && stats !== null && readiness !== null);
  // The second asks for the first's port on one listener and a free one on the others: the free
  // ones listed before it have opened by the time it fails (readiness, stats, admin is the order).
  const cases = [
    { name: 'readiness', port: readiness, opts: { readinessAddr: `127.0.0.1:${readiness}`, statsAddr: null, adminAddr: null } },
    { name: 'stats', port: stats, opts: { readinessAddr: '127.0.0.1:0', statsAddr: `127.0.0.1:${stats}`, adminAddr: null } },
    { name: 'admin', port: admin, opts: { readinessAddr: '127.0.0.1:0', statsAddr: '127.0.0.1:0', adminAddr: `127.0.0.1:${admin}` } },
  ] as const;
  for (const c of cases) {
    const port = await freePort();
    const log = new LogCapture();
    await assert.rejects(
      startGateway({ configText: gatewayYaml({ upstreamUrl: 'http://127.0.0.1:9/mcp', mode: null, port }), workers: 0, logSink: log, ...c.opts }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, new RegExp(`^could not listen on 127\\.0\\.0\\.1:${c.port} \\(${c.name}\\): the port is taken`));
        return true;
      },
    );
    // its bind and the ops listeners it had opened are closed again
    await assert.rejects(fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }), /fetch failed/);
    for (const line of log.lines.filter((l) => l.includes('listener established'))) {
      const opened = /address=127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      await assert.rejects(fetch(`http://127.0.0.1:${opened ?? 0}/`), /fetch failed/, line);
    }
  }
  // Every scrape reaches the first gateway: the port was never shared.
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`http://127.0.0.1:${stats}/metrics`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /portcullis_requests_total/);
  }
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
