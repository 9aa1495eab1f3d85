// A merged GET stream (several targets) that includes stdio sessions: it ends when one of those
// sessions does (its process exited), as a single target's stream does, and a GET naming the
// ended session is then 404, like a POST in it (the stream used to stay open with nothing to
// say, and the client never learned it had to initialize again). Beside a stateless HTTP
// target (405 to GET) it still carries the stdio server's messages (it used to be 405).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { openEventStream } from '../helpers/event-stream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { PROTOCOL_VERSION, isRecord, mcpFetch, notification, openMcpSession } from '../helpers/mcp-http.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';

/** Answers every request; with argument `exit-on-note` it exits on the notification
 * `test/exit`; on `test/log` it sends a log notification `logged`. */
const stdioServer = `
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  if (m.method === 'test/exit' && process.argv[1] === 'exit-on-note') process.exit(0);
  if (m.method === 'test/log') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'logged' } }) + '\\n');
  if (m.id !== undefined) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: m.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } : {} }) + '\\n');
});`;

function gatewayFor(t: test.TestContext, targets: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<TestGateway> {
  return startTestGateway(t, { configText: stringify({ binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets } }] }] }] }] }) });
}

test('a merged GET stream ends when one of its stdio sessions\' process exits; a new GET in that session is 404', { timeout: 30_000 }, async (t) => {
  const targets = [
    { name: 'a', stdio: { cmd: process.execPath, args: ['-e', stdioServer, 'exit-on-note'] } },
    { name: 'b', stdio: { cmd: process.execPath, args: ['-e', stdioServer] } },
  ];
  const gw = await gatewayFor(t, targets);
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const headers = { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION };
  const stream = await openEventStream(gw.url, { method: 'GET', headers });
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  const note = await mcpFetch(gw.url, notification('test/exit'), { sessionId });
  assert.equal(note.status, 202, note.text);
  await assert.rejects(stream.until(() => false, 10_000), /stream ended/);
  const again = await openEventStream(gw.url, { method: 'GET', headers });
  t.after(() => again.close());
  assert.equal(again.status, 404);
});

test('beside a stateless HTTP target (405 to GET), the merged GET stream carries the stdio server\'s messages', { timeout: 30_000 }, async (t) => {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const gw = await gatewayFor(t, [
    { name: 's', stdio: { cmd: process.execPath, args: ['-e', stdioServer] } },
    { name: 'h', mcp: { host: up.url } },
  ]);
  const { sessionId } = await openMcpSession(gw.url);
  assert.ok(sessionId !== undefined);
  const stream = await openEventStream(gw.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
  });
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  const note = await mcpFetch(gw.url, notification('test/log'), { sessionId });
  assert.equal(note.status, 202, note.text);
  await stream.until((e) => isRecord(e.message?.['params']) && e.message['params']['data'] === 'logged', 10_000);
});
