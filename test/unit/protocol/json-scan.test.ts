// The JSON scanner behind the filter op (src/protocol/json-scan.ts): it must accept exactly what
// JSON.parse accepts, since the filter passes on text only when the scan found it valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAIL, JsonScanner } from '../../../src/protocol/json-scan.js';
import { tools } from '../../../bench/fixtures.js';
import { parses } from '../../helpers/json.js';
import { random } from '../../helpers/random.js';


function scans(text: string): boolean {
  return new JsonScanner(text).isJsonText();
}

const VALID = [
  '{}',
  '[]',
  ' \t\r\n{ } \n',
  '0',
  '-0',
  '-0.0e-0',
  '1E+2',
  '12.5e10',
  '1e400',
  'true',
  'false',
  'null',
  '""',
  '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE80"',
  '"\\ud800"', // a lone surrogate: JSON.parse takes it
  '"é🚀\u007f\u2028"',
  '{"a":[1,{"b":null}],"c":"d"}',
  '{"a":1,"a":2}', // duplicates are valid JSON; the filter deals with them itself
  '[[[[[]]]],{}]',
  '{ "k" : [ 1 , 2 ] , "n" : { } }',
];

const INVALID = [
  '',
  ' ',
  '{',
  '}',
  '{"a":1',
  '{"a" 1}',
  '{"a":1 "b":2}',
  '{"a":1,}',
  '[1,]',
  '[,1]',
  '[1 2]',
  '{a:1}',
  "{'a':1}",
  '{"a":1}}',
  '{"a":1} x',
  '{"a":1}{}',
  '01',
  '-',
  '1.',
  '.5',
  '1e',
  '1e+',
  '+1',
  '0x10',
  'NaN',
  'Infinity',
  'tru',
  'nul',
  'True',
  '"abc',
  '"a\nb"',
  '"a\tb"',
  '"a\u0000b"',
  '"a\u001fb"',
  '"\\x41"',
  '"\\u12G4"',
  '"\\u12"',
  '"\\',
  '["a\\"]',
  '\u00a0{}', // no-break space is not JSON whitespace
  '\ufeff{}',
  '{} /* comment */',
  '[1]\u0000',
];

test('accepts exactly what JSON.parse accepts: hand-picked texts', () => {
  for (const text of VALID) assert.equal(scans(text), true, JSON.stringify(text));
  for (const text of INVALID) {
    assert.equal(parses(text), false, `JSON.parse takes ${JSON.stringify(text)}`);
    assert.equal(scans(text), false, JSON.stringify(text));
  }
});

const BASES = [
  JSON.stringify({ jsonrpc: '2.0', id: 4, result: { tools: tools(3), nextCursor: 'c2' } }),
  JSON.stringify({ jsonrpc: '2.0', id: 'x', result: { prompts: [{ name: 'gr"eet\n', arguments: [{ name: 'é🚀', required: true }] }] } }, null, 2),
  '{"a":[-1.5e-3,0,true,false,null,"\\u0041\\\\",{"b":{}}],"c":[[],[{}]]}',
];
// Characters that make or break JSON: structure, literals' letters, digits, escapes, controls.
const ALPHABET = ' \t\n\r{}[]:,"\\/-+.eE0123456789tfnrulsabu\u0000\u001f\u00e9';

test('accepts exactly what JSON.parse accepts: 30,000 random one- and two-character edits', () => {
  const next = random(20261126);
  const pick = (s: string): string => s.charAt(Math.floor(next() * s.length));
  let valid = 0;
  for (let n = 0; n < 30_000; n++) {
    let text = BASES[n % BASES.length] ?? '';
    for (let edits = next() < 0.5 ? 1 : 2; edits > 0; edits--) {
      const at = Math.floor(next() * (text.length + 1));
      const kind = next();
      if (kind < 0.33) text = text.slice(0, at) + text.slice(at + 1);
      else if (kind < 0.66) text = text.slice(0, at) + pick(ALPHABET) + text.slice(at);
      else text = text.slice(0, at) + pick(ALPHABET) + text.slice(at + 1);
    }
    const expected = parses(text);
    if (expected) valid++;
    assert.equal(scans(text), expected, JSON.stringify(text));
  }
  assert.ok(valid > 1000, `only ${valid} edits left valid JSON: the test would prove little`);
});

test('skipValue ends each value exactly; walkObject and walkArray give every member and element', () => {
  const text = ' {"a" : [1, "x\\"y", {"b": {}}] , "c":-2.5e3,"d\\u0065":"v" } ';
  const scan = new JsonScanner(text);
  const members: Array<[string | null, string]> = [];
  const end = scan.walkObject(1, (nameStart, nameEnd, valueStart) => {
    const valueEnd = scan.skipValue(valueStart);
    members.push([scan.stringValue(nameStart, nameEnd), text.slice(valueStart, valueEnd)]);
    return valueEnd;
  });
  assert.equal(end, text.length - 1);
  assert.deepEqual(members, [
    ['a', '[1, "x\\"y", {"b": {}}]'],
    ['c', '-2.5e3'],
    ['de', '"v"'],
  ]);
  const elements: string[] = [];
  const arrayStart = text.indexOf('[');
  const arrayEnd = scan.walkArray(arrayStart, (start) => {
    const valueEnd = scan.skipValue(start);
    elements.push(text.slice(start, valueEnd));
    return valueEnd;
  });
  assert.equal(text.slice(arrayStart, arrayEnd), '[1, "x\\"y", {"b": {}}]');
  assert.deepEqual(elements, ['1', '"x\\"y"', '{"b": {}}']);
  // a visitor's FAIL stops the walk
  assert.equal(scan.walkArray(arrayStart, () => FAIL), FAIL);
  // walks refuse what is not an object or array, or what breaks off
  assert.equal(scan.walkObject(arrayStart, (_s, _e, v) => scan.skipValue(v)), FAIL);
  assert.equal(new JsonScanner('{"a":1,}').walkObject(0, (_s, _e, v) => v + 1), FAIL);
  assert.equal(new JsonScanner('[1 2]').walkArray(0, (v) => v + 1), FAIL);
});

test('string tokens: names compare decoded, values decode as JSON.parse decodes them', () => {
  const text = '["name","na\\u006de","nam","names","n\\u0061me\\n","\\ud83d\\ude80 \\"q\\""]';
  const scan = new JsonScanner(text);
  const tokens: Array<[number, number]> = [];
  scan.walkArray(0, (start) => {
    const end = scan.skipString(start);
    tokens.push([start, end]);
    return end;
  });
  assert.deepEqual(
    tokens.map(([s, e]) => scan.tokenEquals(s, e, 'name')),
    [true, true, false, false, false, false],
  );
  assert.deepEqual(
    tokens.map(([s, e]) => scan.stringValue(s, e)),
    JSON.parse(text),
  );
  assert.equal(scan.stringValue(0, 1), null);
});

test('deep nesting neither recurses nor throws', () => {
  const depth = 200_000;
  const deep = '['.repeat(depth) + '{"a":' + '[1]' + '}' + ']'.repeat(depth);
  assert.equal(scans(deep), true);
  assert.equal(scans(deep.slice(0, -1)), false);
  const objects = '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
  assert.equal(scans(objects), true);
});

test('a scan that goes back re-checks strings it passed over', () => {
  // Scanning the second string first records "no newline ahead"; the first string, read
  // afterwards, still has its raw newline found.
  const text = '"a\nb" "cccc"';
  const scan = new JsonScanner(text);
  assert.equal(scan.skipString(6), 12);
  assert.equal(scan.skipString(0), FAIL);
  const escaped = new JsonScanner('"a\\"b" "c"');
  assert.equal(escaped.skipString(7), 10);
  assert.equal(escaped.skipString(0), 6);
});
