// celVars: claims reach cel-js as they are unless an object in them holds a `constructor`
// member, which only a Map makes readable (the rules' behaviour is in workers/cel.test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celVars } from '../../../src/protocol/cel-values.js';
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
    assert.equal(jwtOf(claims), once, 'remembered by identity');
  }
  const parsed: Claims = JSON.parse('{"__proto__": {"constructor": 1}, "sub": "a"}');
  assert.ok(jwtOf(parsed) instanceof Map, 'an own __proto__ member is walked like any other');
});
