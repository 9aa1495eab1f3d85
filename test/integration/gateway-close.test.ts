// gateway.close() for programs that embed the gateway (DESIGN.md: "must start and stop cleanly"):
// open streams are drained and ended, and no client connection is left holding the process.
import assert from 'node:assert/strict';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../../examples/echo-server/server.js';
import type { CleanupHost } from '../helpers/files.js';
import { gatewayYaml, startTestGateway } from '../helpers/gateway-harness.js';
import { openMcpSession } from '../helpers/mcp-http.js';

const cleanup: Array<() => Promise<void>> = [];
const suite: CleanupHost = { after: (fn) => void cleanup.push(fn) };
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let echo: EchoServer;
before(async () => {
  echo = await startEchoServer({ port: 0, mode: 'stateful' });
  suite.after(() => echo.close());
});

function configText(): string {
  return gatewayYaml({ upstreamUrl: echo.url, mode: null });
}

/** Resolves 'closed' when the socket closes, or 'open' if it is still open after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<'closed' | 'open'> {
  if (socket.destroyed) return Promise.resolve('closed');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

function send(req: ClientRequest, body?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end(body);
  });
}

test('close() drains and then ends an open GET stream', async () => {
  const { gateway, url } = await startTestGateway(suite, { configText: configText() });
  const { sessionId } = await openMcpSession(url);
  assert.ok(sessionId !== undefined);
  // A raw socket: the stream's status line is enough to know it is open (see streaming.test.ts
  // for why an HTTP client would not even see the response head yet).
  const socket = connect(gateway.port, '127.0.0.1');
  suite.after(async () => void socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\nmcp-session-id: ${sessionId}\r\nmcp-protocol-version: 2025-06-18\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, /content-type: text\/event-stream/i);
  await gateway.close({ drainMs: 200 });
  assert.equal(await closedWithin(socket, 5000), 'closed', 'the stream outlived close()');
});

test(
  'close() does not leave an idle keep-alive client connection open',
  async () => {
    const { gateway, url } = await startTestGateway(suite, { configText: configText() });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    suite.after(async () => agent.destroy());
    const req = request(url, {
      agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    const socket = await new Promise<Socket>((resolve) => req.once('socket', resolve));
    const res = await send(req, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    res.resume();
    await new Promise<void>((resolve) => res.once('end', () => resolve()));
    assert.equal(socket.destroyed, false, 'the connection is idle in the keep-alive pool');
    await gateway.close({ drainMs: 0 });
    assert.equal(await closedWithin(socket, 2000), 'closed', 'the gateway should close idle connections when it closes');
  },
);
