// The bounded maps behind the verified-token cache and the decoded session ids
// (src/main/generational-map.ts, src/main/policy/token-cache.ts): never more than the bound,
// entries in use survive, expired tokens and departed keys are gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GenerationalMap } from '../../src/main/generational-map.js';
import { VerifiedTokenCache } from '../../src/main/policy/token-cache.js';

test('never holds more than the bound, and keeps at least half of it', () => {
  const m = new GenerationalMap<number, number>(100);
  for (let i = 0; i < 10_000; i++) {
    m.set(i, i);
    assert.ok(m.size <= 100, `size ${m.size} after ${i + 1} insertions`);
    if (i >= 100) assert.ok(m.size >= 50, `size ${m.size} after ${i + 1} insertions`);
  }
  // the most recent half bound is always there
  for (let i = 10_000 - 50; i < 10_000; i++) assert.equal(m.get(i), i);
});

test('an entry read again outlives entries inserted after it but not read', () => {
  const m = new GenerationalMap<string, number>(10);
  m.set('kept', 0);
  for (let i = 0; i < 1000; i++) {
    m.set(`k${i}`, i);
    assert.equal(m.get('kept'), 0, `lost after ${i + 1} other insertions`);
  }
  assert.equal(m.get('k0'), undefined);
});

test('set replaces, delete and deleteWhere remove from both generations', () => {
  const m = new GenerationalMap<string, number>(4);
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3); // a and b move to the old generation
  m.set('a', 10);
  assert.equal(m.get('a'), 10);
  assert.equal(m.size, 3);
  m.delete('b');
  assert.equal(m.get('b'), undefined);
  m.deleteWhere((v) => v > 5);
  assert.equal(m.get('a'), undefined);
  assert.equal(m.get('c'), 3);
  assert.equal(m.size, 1);
});

test('a bound below 2 is a programming error', () => {
  assert.throws(() => new GenerationalMap(1), RangeError);
  assert.throws(() => new GenerationalMap(Number.NaN), RangeError);
});

test('verified-token cache: an entry ends at its exp, a departed key takes its tokens, the bound holds', () => {
  const cache = new VerifiedTokenCache(1000);
  const entry = (key: string, expiresAtMs: number) => ({ claims: Object.freeze({ sub: 'x' }), key, expiresAtMs });
  cache.set('t1', entry('k1', 2000));
  cache.set('t2', entry('k2', 5000));
  assert.equal(cache.get('t1', 1999)?.key, 'k1');
  assert.equal(cache.get('t1', 2000), undefined);
  assert.equal(cache.get('t1', 0), undefined, 'an expired entry is gone, not merely hidden');
  cache.retainKeys(new Set(['k1']));
  assert.equal(cache.get('t2', 0), undefined);
  for (let i = 0; i < 5000; i++) cache.set(`t${i}`, entry('k1', 9e15));
  assert.ok(cache.size <= 1000);
});
