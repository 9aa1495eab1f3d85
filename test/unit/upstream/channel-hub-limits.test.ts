// The channel hub's limits, with real stdio processes: a caller's least recently used idle
// session makes room for a new one; past the total, or with all of a caller's sessions
// streaming, a new one is refused. Opens in flight (a legacy SSE upstream's GET) count too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelHub, ChannelLimitError } from '../../../src/main/upstream/channels/channel-hub.js';
import type { ChannelSession } from '../../../src/main/upstream/channels/channel-session.js';
import type { ChannelSpec } from '../../../src/main/upstream/channels/channel.js';
import { startScriptedSseServer } from '../../helpers/scripted-sse-server.js';
import { startStub } from '../../helpers/stub-upstream.js';

const idleProcess: ChannelSpec = { kind: 'stdio', cmd: process.execPath, args: ['-e', 'process.stdin.resume()'], env: {} };

test('per caller: the least recently used idle session closes; in all: a new one is refused', async (t) => {
  const log: string[] = [];
  const hub = new ChannelHub((line) => log.push(line), { perCaller: 2, total: 3 });
  t.after(() => hub.closeAll());
  const a1 = await hub.open(idleProcess, {}, 'a');
  const a2 = await hub.open(idleProcess, {}, 'a');
  a1.lastUsed = a2.lastUsed + 1; // a2 is now the least recently used
  const a3 = await hub.open(idleProcess, {}, 'a');
  assert.equal(hub.get(a2.id), undefined);
  assert.equal(hub.get(a1.id), a1);
  assert.equal(hub.get(a3.id), a3);
  assert.match(log.join('\n'), /its caller opened more than 2/);
  await hub.open(idleProcess, {}, 'b');
  assert.equal(hub.size, 3);
  await assert.rejects(hub.open(idleProcess, {}, 'c'), ChannelLimitError);
  // all of a's sessions held by GET streams: nothing to close, refused
  a1.subscribe(() => {}, () => {});
  a3.subscribe(() => {}, () => {});
  await assert.rejects(hub.open(idleProcess, {}, 'a'), /all streaming/);
  assert.equal(hub.size, 3);
});

function opened(results: ReadonlyArray<PromiseSettledResult<ChannelSession>>): ChannelSession[] {
  for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ChannelLimitError, String(r.reason));
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

test('concurrent opens against a legacy SSE upstream count against the limits while they open', async (t) => {
  const sse = await startScriptedSseServer();
  const hub = new ChannelHub(() => {}, { perCaller: 2, total: 3 });
  t.after(async () => {
    await hub.closeAll();
    await sse.close();
  });
  const spec: ChannelSpec = { kind: 'sse', url: new URL(sse.url) };
  const mine = opened(await Promise.allSettled(Array.from({ length: 6 }, () => hub.open(spec, {}, 'a'))));
  assert.equal(mine.length, 2);
  assert.equal(hub.size, 2);
  const others = opened(await Promise.allSettled([hub.open(spec, {}, 'b'), hub.open(spec, {}, 'c'), hub.open(spec, {}, 'd')]));
  assert.equal(others.length, 1);
  assert.equal(hub.size, 3);
  // a is at its limit with two idle sessions: four opens at once close one each, two of them
  // make room, the other two find none left.
  const again = opened(await Promise.allSettled(Array.from({ length: 4 }, () => hub.open(spec, {}, 'a'))));
  assert.equal(again.length, 2);
  assert.equal(hub.size, 3);
  for (const s of mine) assert.equal(hub.get(s.id), undefined);
  for (const s of [...again, ...others]) assert.equal(hub.get(s.id), s);
});

test('an open that fails closes none of the caller\'s sessions', async (t) => {
  const sse = await startScriptedSseServer();
  const hub = new ChannelHub(() => {}, { perCaller: 2, total: 3 });
  t.after(async () => {
    await hub.closeAll();
    await sse.close();
  });
  const a1 = await hub.open(idleProcess, {}, 'a');
  const a2 = await hub.open(idleProcess, {}, 'a');
  const missing: ChannelSpec = { kind: 'sse', url: new URL('/nowhere', sse.url) };
  await assert.rejects(hub.open(missing, {}, 'a'), /answered 404/);
  assert.equal(hub.get(a1.id), a1);
  assert.equal(hub.get(a2.id), a2);
  // One that opens still makes room.
  a1.lastUsed = a2.lastUsed + 1;
  const a3 = await hub.open({ kind: 'sse', url: new URL(sse.url) }, {}, 'a');
  assert.equal(hub.get(a2.id), undefined);
  assert.deepEqual([hub.get(a1.id), hub.get(a3.id)], [a1, a3]);
});

test('the session an open would close is kept if a GET stream takes it meanwhile: the open is refused', async (t) => {
  const sse = await startScriptedSseServer();
  const hub = new ChannelHub(() => {}, { perCaller: 1, total: 3 });
  t.after(async () => {
    await hub.closeAll();
    await sse.close();
  });
  const a1 = await hub.open(idleProcess, {}, 'a');
  const opening = hub.open({ kind: 'sse', url: new URL(sse.url) }, {}, 'a');
  a1.subscribe(() => {}, () => {});
  await assert.rejects(opening, /all streaming/);
  assert.equal(hub.get(a1.id), a1);
  assert.equal(hub.size, 1);
});

test('an open still under way when closeAll runs is closed, not kept', async (t) => {
  const sse = await startScriptedSseServer();
  t.after(() => sse.close());
  const hub = new ChannelHub(() => {});
  const opening = hub.open({ kind: 'sse', url: new URL(sse.url) }, {}, 'a');
  await hub.closeAll();
  await assert.rejects(opening, /closing/);
  assert.equal(hub.size, 0);
});

test('a stdio server that does not read its stdin ends its session once 64 MiB wait for it', { timeout: 60_000 }, async (t) => {
  const log: string[] = [];
  const hub = new ChannelHub((line) => log.push(line));
  t.after(() => hub.closeAll());
  // stdin is never read: node only reads it when asked
  const session = await hub.open({ kind: 'stdio', cmd: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: {} }, {}, 'a');
  const message = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'n'.repeat(1024 * 1024) } });
  let sent = 0;
  while (session.notify(message)) {
    sent++;
    assert.ok(sent < 200, 'still accepting after 200 MiB');
  }
  assert.ok(sent >= 64, `refused after ${sent} MiB`);
  assert.match(log.join('\n'), /has not read 64 MiB sent to its stdin/);
  assert.equal(session.notify('{}'), false);
});

test('a legacy SSE server that takes no more messages ends its session once 256 wait for it', { timeout: 60_000 }, async (t) => {
  const { port } = await startStub(t, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: endpoint\ndata: /messages\n\n');
    }
    // a POST is never answered
  });
  const log: string[] = [];
  const hub = new ChannelHub((line) => log.push(line));
  t.after(() => hub.closeAll());
  const session = await hub.open({ kind: 'sse', url: new URL(`http://127.0.0.1:${port}/sse`) }, {}, 'a');
  let sent = 0;
  while (session.notify('{"jsonrpc":"2.0","method":"notifications/message","params":{}}')) {
    sent++;
    assert.ok(sent <= 256, 'accepted more than 256 unanswered messages');
  }
  assert.equal(sent, 256);
  assert.match(log.join('\n'), /256 messages posted and not yet accepted/);
});
