import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeMemberProblem, firstDuplicateMember, MAX_JSON_DEPTH, memberProblem, parsedMemberProblem } from '../../../src/protocol/json-members.js';

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

test('parsedMemberProblem answers as memberProblem does on chosen texts', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const texts = [
    '{"alg":"ES256","kid":"a","kid":"b"}',
    '{"kid":"a","k\\u0069d":"b"}',
    '{"a":{"x":1,"x":2}}',
    '{"a":[{"x":1},{"x":2,"x":3}]}',
    '{"roles":["kid","kid"],"kid":"kid"}',
    '{"s":"a,\\"kid\\":1","kid":"x"}',
    '{"s":"\\\\","t" : 1, "u"\t:\n2}',
    '{"a\\\\":1,"a\\\\":2}',
    '{"\\\\\\"":1,"\\"\\\\":2,"x":"\\\\\\":"}',
    '{"__proto__":{"a":1},"b":2}',
    '{"__proto__":1,"__proto__":2}',
    '{"constructor":1,"toString":{"valueOf":[]}}',
    '{}',
    '[]',
    '"x"',
    '{"a":"b:c","d":[":",{"e":":"}]}',
    deep(MAX_JSON_DEPTH),
    deep(MAX_JSON_DEPTH + 1),
    `{"s":"${'['.repeat(500)}"}`,
  ];
  for (const text of texts) assert.deepEqual(parsedMemberProblem(text, JSON.parse(text)), memberProblem(text), text);
  assert.deepEqual(parsedMemberProblem('{"a":{"b":{"c":1}}}', { a: { b: { c: 1 } } }, 2), { kind: 'too_deep', limit: 2 });
});

test('parsedMemberProblem answers as memberProblem does on seeded random JSON with repeated names', () => {
  let seed = 17;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const names = ['a', 'b', 'kid', 'k\\u0069d', '__proto__', 'x:y', '\\"q', 'constructor'];
  const ws = ['', ' ', '\n', '\t '];
  const value = (depth: number): string => {
    const k = depth > 4 ? rand(3) : rand(6);
    if (k === 0) return String(rand(100));
    if (k === 1) return JSON.stringify(names[rand(names.length)] + ':,{}[]');
    if (k === 2) return ['true', 'false', 'null'][rand(3)] ?? 'null';
    if (k === 3) return `[${Array.from({ length: rand(4) }, () => value(depth + 1)).join(',')}]`;
    const members = Array.from({ length: rand(5) }, () => `"${names[rand(names.length)]}"${ws[rand(ws.length)]}:${ws[rand(ws.length)]}${value(depth + 1)}`);
    return `{${members.join(',')}}`;
  };
  let problems = 0;
  for (let i = 0; i < 4000; i++) {
    const text = value(0);
    const expected = memberProblem(text);
    if (expected !== null) problems++;
    assert.deepEqual(parsedMemberProblem(text, JSON.parse(text)), expected, text);
    assert.deepEqual(parsedMemberProblem(text, JSON.parse(text), 3), memberProblem(text, 3), text);
  }
  assert.ok(problems > 200 && problems < 3800, `both kinds of text generated: ${problems} with a problem`);
});
