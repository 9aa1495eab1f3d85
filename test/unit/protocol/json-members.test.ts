import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeMemberProblem, firstDuplicateMember, MAX_JSON_DEPTH, memberProblem } from '../../../src/protocol/json-members.js';

test('finds a name used twice in one object, also when escaped', () => {
  assert.equal(firstDuplicateMember('{"alg":"ES256","kid":"a","kid":"b"}'), 'kid');
  assert.equal(firstDuplicateMember('{"kid":"a","k\\u0069d":"b"}'), 'kid');
  assert.equal(firstDuplicateMember('{"a":{"x":1,"x":2}}'), 'x');
  assert.equal(firstDuplicateMember('{"a":[{"x":1},{"x":2,"x":3}]}'), 'x');
});

test('the same name in different objects, in values or in arrays is fine', () => {
  assert.equal(firstDuplicateMember('{"a":{"x":1},"b":{"x":2},"x":3}'), null);
  assert.equal(firstDuplicateMember('{"roles":["kid","kid"],"kid":"kid"}'), null);
  assert.equal(firstDuplicateMember('{"s":"a,\\"kid\\":1","kid":"x"}'), null);
  assert.equal(firstDuplicateMember('{}'), null);
});

test('nesting past the limit is reported, at the limit it is not', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  assert.equal(memberProblem(deep(MAX_JSON_DEPTH)), null);
  assert.deepEqual(memberProblem(deep(MAX_JSON_DEPTH + 1)), { kind: 'too_deep', limit: MAX_JSON_DEPTH });
  assert.deepEqual(memberProblem('{"a":{"b":{"c":1}}}', 2), { kind: 'too_deep', limit: 2 });
  // brackets inside strings are text
  assert.equal(memberProblem(`{"s":"${'['.repeat(500)}"}`), null);
  assert.equal(describeMemberProblem({ kind: 'too_deep', limit: 128 }), 'nested deeper than 128 levels');
  assert.equal(describeMemberProblem({ kind: 'duplicate', name: 'name' }), 'duplicate member "name"');
});
