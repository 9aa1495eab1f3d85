// deepFreeze (src/protocol/deep-freeze.ts): parsed JSON shared by requests, frozen all the way
// down, `__proto__` members included.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deepFreeze } from '../../../src/protocol/deep-freeze.js';

it('freezes every object and array in parsed JSON and returns it', () => {
  const value = JSON.parse('{"a":{"b":[1,{"c":2}]},"__proto__":{"d":[3]},"e":"x"}') as Record<string, unknown>;
  assert.equal(deepFreeze(value), value);
  const seen: unknown[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    seen.push(v);
    for (const k of Object.keys(v)) walk(Reflect.get(v, k));
  };
  walk(value);
  assert.equal(seen.length, 6);
  for (const v of seen) assert.ok(Object.isFrozen(v));
  assert.equal(deepFreeze(7), 7);
  assert.equal(deepFreeze(null), null);
});
