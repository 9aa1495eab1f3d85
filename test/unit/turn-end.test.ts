import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import { atTurnEnd, beforeWrites } from '../../src/main/turn-end.js';

/** Work that lets a request go on, which then queues a write (as a verified request does). */
function workThenWrite(order: string[], name: string): () => void {
  return () => {
    order.push(`work ${name}`);
    void Promise.resolve().then(() => atTurnEnd(() => order.push(`write ${name}`)));
  };
}

test('a write queued by what a turn-end batch let go on leaves in the same turn', async () => {
  const order: string[] = [];
  beforeWrites(workThenWrite(order, 'a'));
  setImmediate(() => order.push('queued after the batch'));
  await nextImmediate();
  assert.deepEqual(order, ['work a', 'write a', 'queued after the batch']);
});

test('writes queued before the batch go first; the batch\'s follow in the same turn', async () => {
  const order: string[] = [];
  atTurnEnd(() => order.push('write early'));
  atTurnEnd(() => order.push('write early 2'));
  beforeWrites(workThenWrite(order, 'b'));
  setImmediate(() => order.push('queued after the batch'));
  await nextImmediate();
  assert.deepEqual(order, ['write early', 'write early 2', 'work b', 'write b', 'queued after the batch']);
});

test('a batch queued while the turn\'s immediates run, and its writes, run in the next turn', async () => {
  const order: string[] = [];
  beforeWrites(() => {
    order.push('work 1');
    beforeWrites(workThenWrite(order, '2'));
  });
  setImmediate(() => order.push('end of turn 1'));
  await nextImmediate();
  assert.deepEqual(order, ['work 1', 'end of turn 1']);
  await nextImmediate();
  assert.deepEqual(order, ['work 1', 'end of turn 1', 'work 2', 'write 2']);
});
