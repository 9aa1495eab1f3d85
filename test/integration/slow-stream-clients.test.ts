// A client that opens a GET stream and never reads it: the gateway's memory stays bounded and it
// keeps answering. From an HTTP upstream (a merged stream) the gateway reads no more than the
// client takes, so the upstream waits; from a channel session (whose process also carries the
// answers to POSTs) the stream is closed once the client is 16 MiB behind, and what a session
// keeps for a GET stream to come is bounded too. Without back-pressure the gateway buffered
// ~100 MB a second for such a client.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { openEventStream, type StreamEvent } from '../helpers/event-stream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { PROTOCOL_VERSION, isRecord, mcpFetch, openMcpSession, rpc } from '../helpers/mcp-http.js';
import { startStub } from '../helpers/stub-upstream.js';

function gatewayFor(t: test.TestContext, targets: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<TestGateway> {
  const configText = stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets } }] }] }] }] });
  return startTestGateway(t, { configText });
}

/** A GET stream whose client reads nothing: its socket is paused from the start. */
function neverReadingStream(t: test.TestContext, gw: TestGateway, sessionId?: string): Socket {
  const sock = connect(gw.gateway.port, '127.0.0.1');
  sock.pause();
  sock.on('error', () => {});
  const session = sessionId === undefined ? '' : `mcp-session-id: ${sessionId}\r\nmcp-protocol-version: ${PROTOCOL_VERSION}\r\n`;
  sock.write(`GET /mcp HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n${session}\r\n`);
  t.after(() => sock.destroy());
  return sock;
}

const rssMB = (): number => process.memoryUsage().rss / 1024 / 1024;

/** A stdio server answering every request. Once initialized, with argument `flood` it sends
 * 16 KiB log notifications as fast as its stdout takes them, with `big` 64 of 1 MiB (numbered). */
const stdioServer = `
const pad = 'n'.repeat(16 * 1024);
const flood = process.argv[1] === 'flood';
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: m.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } : {} }) + '\\n');
  if (m.method === 'notifications/initialized' && flood) {
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: pad } }) + '\\n';
    const pump = () => { while (process.stdout.write(note)); process.stdout.once('drain', pump); };
    pump();
  }
  if (m.method === 'notifications/initialized' && process.argv[1] === 'big') {
    for (let n = 0; n < 64; n++) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', n, data: 'b'.repeat(1 << 20) } }) + '\\n');
  }
});`;

test('a stdio session\'s GET stream whose client never reads is closed 16 MiB behind; memory stays bounded, the session answers', { timeout: 60_000 }, async (t) => {
  const gw = await gatewayFor(t, [{ name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer, 'flood'] } }]);
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const before = rssMB();
  neverReadingStream(t, gw, sessionId);
  await gw.log.waitFor(/GET stream closed: the client fell more than 16 MiB behind s's messages/, { timeoutMs: 15_000 });
  const grown = rssMB() - before;
  assert.ok(grown < 150, `rss grew ${grown.toFixed(0)} MB`);
  // The flood goes on (into the session's bounded backlog); the session still answers.
  const ping = await mcpFetch(gw.url, rpc(2, 'ping'), { sessionId });
  assert.equal(ping.status, 200, ping.text);
});

test('what a session sends with no GET stream open is kept up to 8 MiB, the newest first', { timeout: 60_000 }, async (t) => {
  const gw = await gatewayFor(t, [{ name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer, 'big'] } }]);
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  // Answered after the 64 notifications: they are all in the session's backlog.
  const ping = await mcpFetch(gw.url, rpc(2, 'ping'), { sessionId });
  assert.equal(ping.status, 200, ping.text);
  const stream = await openEventStream(gw.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
  });
  t.after(() => stream.close());
  const numberOf = (e: StreamEvent): unknown => (isRecord(e.message?.['params']) ? e.message['params']['n'] : undefined);
  await stream.until((e) => numberOf(e) === 63).catch((err: unknown) => {
    throw new Error(`${String(err).slice(0, 200)}; ${stream.events.length} events read, the last numbered ${String(stream.events.map(numberOf).filter((n) => n !== undefined).at(-1))}; log:\n${gw.log.lines.join('\n')}`);
  });
  const replayed = stream.events.map(numberOf).filter((n) => n !== undefined);
  assert.ok(replayed.length <= 8, `${replayed.length} of 64 MiB-sized messages kept`);
  assert.deepEqual(replayed, Array.from({ length: replayed.length }, (_, i) => 64 - replayed.length + i));
});

/** An HTTP upstream whose GET stream offers `total` bytes of 16 KiB events (numbered from 0 in
 * params.n), writing only as fast as the gateway reads, then stays open. POSTs are answered `{}`. */
async function floodingUpstream(t: test.TestContext, total: number): Promise<{ url: string; written(): number; sent(): number; finished: Promise<void>; stalled(quietMs: number): Promise<void> }> {
  const pad = 'x'.repeat(16 * 1024);
  const event = (n: number): string => `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', n, data: pad } })}\n\n`;
  let written = 0;
  let sent = 0;
  let onFinished = (): void => {};
  const finished = new Promise<void>((resolve) => {
    onFinished = resolve;
  });
  const drains = new Set<() => void>();
  const { url } = await startStub(t, (req, res) => {
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":2,"result":{}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pump = (): void => {
      for (const d of drains) d();
      while (written < total) {
        const next = event(sent++);
        written += next.length;
        if (!res.write(next)) {
          res.once('drain', pump);
          return;
        }
      }
      // The stream stays open, idle.
      onFinished();
    };
    pump();
  });
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const once = (): void => {
        drains.delete(once);
        resolve();
      };
      drains.add(once);
    });
  return {
    url,
    written: () => written,
    sent: () => sent,
    finished,
    // Only the absence of progress shows the gateway waits: a quiet spell is the signal.
    stalled: async (quietMs) => {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const quiet = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), quietMs);
        });
        const moved = await Promise.race([quiet, drained().then(() => false), finished.then(() => true)]);
        clearTimeout(timer);
        if (moved) return;
      }
    },
  };
}

test('a merged GET stream whose client stops reading: the upstreams wait, memory stays bounded, other requests are answered; reading again, the client gets every event', { timeout: 60_000 }, async (t) => {
  const total = 64 * 1024 * 1024;
  const up = await floodingUpstream(t, total);
  const gw = await gatewayFor(t, [{ name: 'a', mcp: { host: up.url } }, { name: 'b', mcp: { host: up.url } }]);
  const before = rssMB();
  const sock = neverReadingStream(t, gw);
  await up.stalled(1000);
  assert.ok(up.written() < total / 2, `the upstreams wrote ${(up.written() / 1e6).toFixed(0)} MB`);
  const grown = rssMB() - before;
  assert.ok(grown < 150, `rss grew ${grown.toFixed(0)} MB`);
  const ping = await mcpFetch(gw.url, rpc(2, 'ping'));
  assert.equal(ping.status, 200, ping.text);
  // Events counted by a marker each holds once; a marker may straddle two chunks.
  const marker = '"level":"info","n":';
  let carry = '';
  let received = 0;
  let onEvent = (): void => {};
  sock.on('data', (chunk: Buffer) => {
    const text = carry + chunk.toString('latin1');
    for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) received++;
    carry = text.slice(-(marker.length - 1));
    onEvent();
  });
  sock.resume();
  await up.finished;
  await new Promise<void>((resolve) => {
    onEvent = () => {
      if (received === up.sent()) resolve();
    };
    onEvent();
  });
});
