// The verified-token cache's fixed tables: fingerprints of tokens verified once, and the
// verifications in flight that concurrent requests with one token share.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightVerifications } from '../../../src/main/policy/inflight-verifications.js';
import { FingerprintTable, VerifiedTokenCache, tokenFingerprint } from '../../../src/main/policy/token-cache.js';

test('a fingerprint is seen before at its second mark, whatever its value', () => {
  const t = new FingerprintTable(100);
  for (const fp of [0, 1, 0x3fffffff, 12345]) {
    assert.equal(t.seenBefore(fp), false, `first ${fp}`);
    assert.equal(t.seenBefore(fp), true, `second ${fp}`);
  }
});

test('fingerprints sharing a slot evict each other, and most survive half the bound of newer ones', () => {
  const t = new FingerprintTable(10_000);
  const fps = Array.from({ length: 5_001 }, (_, i) => tokenFingerprint(`token-${i}-signature-${(i * 7919) % 100_003}`));
  for (const fp of fps) t.seenBefore(fp);
  // the first one, after 5,000 newer ones (a Map-based generation kept exactly these)
  const found = fps.slice(0, 1_000).filter((fp) => t.seenBefore(fp)).length;
  assert.ok(found > 850, `found ${found} of 1,000`);
  // 1,000 tokens: 4,096 slots, picked by the top 12 bits of the Fibonacci hash
  const slotOf = (fp: number): number => Math.imul(fp, 0x9e3779b1) >>> 20;
  let rival = 6;
  while (slotOf(rival) !== slotOf(5)) rival++;
  const t2 = new FingerprintTable(1_000);
  t2.seenBefore(5);
  t2.seenBefore(rival);
  assert.equal(t2.seenBefore(5), false, `${rival} took the slot of 5`);
  assert.equal(t2.seenBefore(5), true, 'and 5 took it back');
});

test('a fingerprint is forgotten once `max` newer ones were marked: the cache would not have held its token that long', () => {
  const t = new FingerprintTable(100);
  t.seenBefore(42);
  for (let i = 0; i < 99; i++) t.seenBefore(43 + i); // consecutive: Fibonacci hashing puts them in distinct slots
  assert.equal(t.seenBefore(42), true, 'after 99 newer ones');
  const u = new FingerprintTable(100);
  u.seenBefore(42);
  for (let i = 0; i < 100; i++) u.seenBefore(43 + i);
  assert.equal(u.seenBefore(42), false, 'after 100 newer ones');
});

test('in-flight verifications: shared by token, ended only by their own promise, cleared', () => {
  const f = new InFlightVerifications<number>(4);
  const p1 = Promise.resolve(1);
  f.add('tok-a', p1);
  assert.equal(f.get('tok-a'), p1);
  assert.equal(f.get('tok-b'), undefined);
  f.clear();
  assert.equal(f.get('tok-a'), undefined, 'cleared');
  const p2 = Promise.resolve(2);
  f.add('tok-a', p2);
  f.end('tok-a', p1);
  assert.equal(f.get('tok-a'), p2, 'an older verification ending leaves the newer one');
  f.end('tok-a', p2);
  assert.equal(f.get('tok-a'), undefined);
});

test('in-flight verifications: a token whose slot is taken is not shared, never confused', () => {
  const f = new InFlightVerifications<string>(1);
  const a = Promise.resolve('a');
  f.add('tok-a', a);
  f.add('tok-b', Promise.resolve('b'));
  assert.equal(f.get('tok-b'), undefined, 'verifies on its own');
  assert.equal(f.get('tok-a'), a);
  assert.throws(() => new InFlightVerifications(3), RangeError);
});

test('the verified-token cache gives claims only to the very token cached, not to another with its fingerprint', () => {
  const counts = { hits: 0, misses: 0 };
  const cache = new VerifiedTokenCache(100, counts);
  // the same last 8 characters: the same fingerprint
  const a = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.signature-of-a-12345678';
  const b = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.other-signature-12345678';
  assert.equal(tokenFingerprint(a), tokenFingerprint(b));
  const later = Date.now() + 60_000;
  cache.set(a, { claims: { sub: 'a' }, key: 'k', expiresAtMs: later });
  assert.equal(cache.get(b, Date.now()), undefined, 'b is not a');
  assert.deepEqual(cache.get(a, Date.now())?.claims, { sub: 'a' });
  assert.equal(cache.get(a.replace('of-a', 'of-A'), Date.now()), undefined, 'nor one differing in the middle');
  cache.set(b, { claims: { sub: 'b' }, key: 'k', expiresAtMs: later });
  assert.equal(cache.get(a, Date.now()), undefined, 'a gave way to b');
  assert.deepEqual(cache.get(b, Date.now())?.claims, { sub: 'b' });
  assert.deepEqual(counts, { hits: 2, misses: 3 });
  assert.equal(cache.size, 1);
  assert.equal(cache.get(b, later), undefined, 'expired at exp');
  assert.equal(cache.size, 0);
});
