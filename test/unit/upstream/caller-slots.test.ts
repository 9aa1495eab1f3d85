import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallerSlots } from '../../../src/main/upstream/caller-slots.js';
import { Refusal } from '../../../src/main/refusals.js';

function lease(slots: CallerSlots, caller: string, kind: 'calls' | 'streams' = 'calls'): () => void {
  const got = slots.acquire('http://up', kind, caller);
  if (got instanceof Refusal) throw new Error(`refused: ${got.message}`);
  return got;
}

test('a caller past its limit is refused, and served again once a slot is given back', () => {
  const slots = new CallerSlots({ calls: 2, streams: 1 });
  const a = lease(slots, 'alice');
  lease(slots, 'alice');
  const third = slots.acquire('http://up', 'calls', 'alice');
  assert.ok(third instanceof Refusal);
  assert.equal(third.code, 'GW_CALLER_LIMIT');
  assert.ok(!(slots.acquire('http://up', 'calls', 'bob') instanceof Refusal), 'another caller is not held up');
  assert.ok(!(slots.acquire('http://up', 'streams', 'alice') instanceof Refusal), 'streams are counted apart');
  a();
  a(); // given back once, however often called
  assert.ok(!(slots.acquire('http://up', 'calls', 'alice') instanceof Refusal));
  assert.ok(slots.acquire('http://up', 'calls', 'alice') instanceof Refusal);
});

test('a caller whose calls are done keeps its entry (no table churn per call); size counts callers with something in flight', () => {
  const slots = new CallerSlots({ calls: 4, streams: 4 });
  for (let i = 0; i < 3; i++) lease(slots, 'alice')();
  assert.equal(slots.size, 0);
  assert.equal(slots.entries, 1);
  const held = lease(slots, 'alice');
  lease(slots, 'bob');
  assert.equal(slots.size, 2);
  held();
  assert.equal(slots.size, 1);
  assert.equal(slots.entries, 2);
});

test('entries at 0 are swept once there are more than the bound, never one in use', () => {
  const slots = new CallerSlots({ calls: 4, streams: 4 }, () => {}, 8);
  const busy = lease(slots, 'busy');
  for (let i = 0; i < 50; i++) lease(slots, `caller-${i}`)();
  assert.ok(slots.entries <= 8 + 2, `entries ${slots.entries}`);
  assert.equal(slots.size, 1);
  lease(slots, 'busy');
  lease(slots, 'busy');
  lease(slots, 'busy');
  assert.ok(slots.acquire('http://up', 'calls', 'busy') instanceof Refusal, 'the busy caller kept its count through the sweeps');
  busy();
  assert.equal(slots.size, 1);
});
