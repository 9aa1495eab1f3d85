import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstDuplicateMember } from '../../src/protocol/duplicate-members.js';

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
