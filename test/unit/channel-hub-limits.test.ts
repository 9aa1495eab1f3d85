// The channel hub's limits, with real stdio processes: a caller's least recently used idle
// session makes room for a new one; past the total, or with all of a caller's sessions
// streaming, a new one is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelHub, ChannelLimitError } from '../../src/main/mcp/channels/channel-hub.js';
import type { ChannelSpec } from '../../src/main/mcp/channels/channel.js';

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
