// celVars: claims reach cel-js as they are unless an object in them holds a `constructor`
// member, which only a Map makes readable (the rules' behaviour is in workers/cel.test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celVars, rememberClaimsForCel } from '../../../src/protocol/cel-values.js';
import type { Claims } from '../../../src/protocol/worker-contract.js';

function jwtOf(claims: Claims): unknown {
  return celVars({ jwt: claims, mcp: null, request: null, source: null }).jwt;
}

test('claims with no constructor member are passed as they are', () => {
  const claims: Claims = { sub: 'a', roles: ['x', { team: 'red' }], org: { id: 1, tags: [] }, n: null };
  assert.equal(jwtOf(claims), claims);
});

test('a constructor member at any depth turns the objects above it into Maps, the same each time', () => {
  for (const claims of [{ constructor: 'c' }, { org: { constructor: 1 } }, { roles: ['x', { constructor: true }] }, { a: [[{ constructor: null }]] }]) {
    const once = jwtOf(claims);
    assert.ok(once instanceof Map, JSON.stringify(claims));
    assert.deepEqual(jwtOf(claims), once, 'the same each time');
  }
  const parsed: Claims = JSON.parse('{"__proto__": {"constructor": 1}, "sub": "a"}');
  assert.ok(jwtOf(parsed) instanceof Map, 'an own __proto__ member is walked like any other');
});

test('claims remembered for a cache are read by identity; claims seen once are converted alike each time', () => {
  const once: Claims = { sub: 'a', org: { constructor: 1 } };
  const first = jwtOf(once);
  assert.ok(first instanceof Map);
  assert.deepEqual(jwtOf(once), first, 'the same Maps, made again');
  const cached: Claims = { sub: 'b', org: { constructor: 2 } };
  rememberClaimsForCel(cached);
  const read = jwtOf(cached);
  assert.ok(read instanceof Map);
  assert.equal(jwtOf(cached), read, 'remembered by identity');
  const plain: Claims = { sub: 'c', roles: ['x'] };
  rememberClaimsForCel(plain);
  assert.equal(jwtOf(plain), plain);
});
