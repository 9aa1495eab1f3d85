// parseMessage reads a JSON-RPC message in one strict pass over its text (src/protocol/jsonrpc.ts):
// it must accept exactly the texts JSON.parse accepts, refuse a name twice in any object and
// nesting past 128 levels, and read the same id, method and call names a full parse gives —
// held against JSON.parse and the character-by-character check it replaced, on hand-picked
// messages and on seeded random ones (valid, with duplicates, too deep, and broken by edits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, type ParsedMessage } from '../../../src/protocol/jsonrpc.js';
import { callTargetOf } from '../../../src/protocol/mcp.js';
import { referenceParseMessage } from '../../../bench/parse-based-message.js';
import { parses } from '../../helpers/json.js';
import { random } from '../../helpers/random.js';

function reason(text: string): string | null {
  const m = parseMessage(text);
  return m.kind === 'invalid' ? m.reason : null;
}

test('requests, notifications and answers: id, method and the names a call targets', () => {
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"name":"x"}}}'), {
    kind: 'request',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', uri: undefined, ref: undefined },
  });
  // members in any order, escapes decoded, whitespace anywhere JSON allows it
  assert.deepEqual(parseMessage(' {\n "params" : { "ur\\u0069" : "file:///a" } , "method":"resources/read", "id" : "a\\"b", "jsonrpc" : "2\\u002e0" } '), {
    kind: 'request',
    id: 'a"b',
    method: 'resources/read',
    params: { name: undefined, uri: 'file:///a', ref: undefined },
  });
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"n","value":"v"}}}'), {
    kind: 'request',
    id: 7,
    method: 'completion/complete',
    params: { name: undefined, uri: undefined, ref: { type: 'ref/prompt', name: 'greet', uri: undefined } },
  });
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","method":"notifications/initialized"}'), { kind: 'notification', method: 'notifications/initialized', params: null });
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","method":"x","params":[1,2]}'), { kind: 'notification', method: 'x', params: null });
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"m"}}'), { kind: 'response', id: null });
  assert.deepEqual(parseMessage('{"result":{},"id":"s","jsonrpc":"2.0"}'), { kind: 'response', id: 's' });
  // numbers as JSON.parse reads them
  const id = (text: string): unknown => {
    const m = parseMessage(`{"jsonrpc":"2.0","id":${text},"method":"ping"}`);
    return m.kind === 'request' ? m.id : m;
  };
  assert.equal(id('-0'), -0);
  assert.equal(id('1.5e3'), 1500);
  assert.equal(id('12345678901234567890'), 12345678901234567000);
  assert.equal(reason('{"jsonrpc":"2.0","id":1e400,"method":"ping"}'), 'id must be a string or a number');
});

test('a name that is no string, or a ref that is no object, names nothing: the call fails closed', () => {
  const target = (params: string): unknown => {
    const m = parseMessage(`{"jsonrpc":"2.0","id":1,"method":"${params.startsWith('{"ref"') ? 'completion/complete' : 'tools/call'}","params":${params}}`);
    assert.equal(m.kind, 'request', params);
    return m.kind === 'request' ? callTargetOf(m.method, m.params) : null;
  };
  assert.deepEqual(target('{"name":"echo"}'), { kind: 'tool', name: 'echo' });
  assert.deepEqual(target('{"name":["echo"]}'), { kind: 'tool', name: '' });
  assert.deepEqual(target('{"name":null}'), { kind: 'tool', name: '' });
  assert.deepEqual(target('{"arguments":{"name":"echo"}}'), { kind: 'tool', name: '' });
  assert.deepEqual(target('{"ref":{"type":"ref/resource","uri":"file:///x"}}'), { kind: 'resource', name: 'file:///x' });
  assert.deepEqual(target('{"ref":{"type":"ref/other","name":"greet"}}'), { kind: 'prompt', name: '' });
  assert.deepEqual(target('{"ref":[{"type":"ref/prompt","name":"greet"}]}'), { kind: 'prompt', name: '' });
});

test('refused: not JSON (first, whatever else is wrong), batches, duplicates at any depth, deep nesting, wrong shapes', () => {
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"tools/call"'), 'body is not valid JSON');
  assert.equal(reason('{"a":1,"a":2} x'), 'body is not valid JSON');
  assert.equal(reason(`${'['.repeat(200)}${']'.repeat(199)}`), 'body is not valid JSON');
  assert.equal(reason(`{"a":${'['.repeat(200)}${']'.repeat(199)}}`), 'body is not valid JSON');
  assert.equal(reason('[{"jsonrpc":"2.0","id":1,"method":"ping"}]'), 'JSON-RPC batches are not supported');
  assert.equal(reason('[{"a":1,"a":2}]'), 'JSON-RPC batches are not supported');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}'), 'duplicate member "name"');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\\u0061me":"b"}}'), 'duplicate member "name"');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'), 'duplicate member "id"');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":[{"b":{"c":1,"c":2}}]}}'), 'duplicate member "c"');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"x","params":{"ref":{"name":"a","name":"b"}}}'), 'duplicate member "name"');
  const nested = (levels: number): string => `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`;
  assert.equal(reason(nested(128)), null);
  assert.equal(reason(nested(129)), 'nested deeper than 128 levels');
  assert.equal(reason('"x"'), 'not a JSON-RPC 2.0 message');
  assert.equal(reason('{"jsonrpc":"2.0 ","id":1,"method":"ping"}'), 'not a JSON-RPC 2.0 message');
  assert.equal(reason('{"jsonrpc":2.0,"id":1,"method":"ping"}'), 'not a JSON-RPC 2.0 message');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}'), 'params must be an object');
  assert.equal(reason('{"jsonrpc":"2.0","id":1,"method":7}'), 'method must be a string');
  assert.equal(reason('{"jsonrpc":"2.0","id":true,"method":"ping"}'), 'id must be a string or a number');
  assert.equal(reason('{"jsonrpc":"2.0","id":{}}'), 'neither a request, a notification nor a response');
  assert.equal(reason('{"jsonrpc":"2.0","result":1}'), 'neither a request, a notification nor a response');
  // a member named like Object.prototype's is a member like any other
  assert.deepEqual(parseMessage('{"jsonrpc":"2.0","id":1,"method":"constructor","params":{"__proto__":{"name":"x"},"toString":1}}'), {
    kind: 'request',
    id: 1,
    method: 'constructor',
    params: { name: undefined, uri: undefined, ref: undefined },
  });
});

// Random messages: JSON-RPC members among others, names sometimes escaped, values nested.
const METHODS = ['tools/call', 'prompts/get', 'resources/read', 'completion/complete', 'tools/list', 'ping', 'notifications/progress'];
const NAMES = ['jsonrpc', 'id', 'method', 'params', 'result', 'error', 'name', 'uri', 'ref', 'type', '_meta', 'progressToken', 'arguments', 'a', '__proto__'];

function generator(next: () => number): { message: () => string; duplicateInto: (text: string) => string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const ws = (): string => (next() < 0.8 ? '' : pick([' ', '\n', '\t ', '\r\n  ']));
  /** a string token, some characters escaped as JSON allows */
  const str = (s: string): string => {
    let out = '"';
    for (const ch of s) {
      const code = ch.codePointAt(0) ?? 0;
      if (ch === '"' || ch === '\\') out += `\\${ch}`;
      else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else if (next() < 0.1 && code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += ch;
    }
    return `${out}"`;
  };
  const scalar = (): string =>
    pick([
      () => String(Math.floor(next() * 1000) - 500),
      () => pick(['0', '-0', '1.5', '-2.5e-3', '1E+2', '12345678901234567890', '1e400']),
      () => str(pick(['echo', 'x"y', 'é🚀', 'a\\b', '\u0001', '', 'ref/prompt', 'ref/resource', '2.0', 'file:///a'])),
      () => pick(['true', 'false', 'null']),
    ])();
  const value = (depth: number): string => {
    const r = next();
    if (depth > 4 || r < 0.5) return scalar();
    if (r < 0.75) return `[${ws()}${Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
    return object(depth + 1, Math.floor(next() * 4));
  };
  const object = (depth: number, size: number, given: ReadonlyArray<readonly [string, string]> = []): string => {
    const members = new Map<string, string>(given);
    for (let n = 0; n < size; n++) members.set(pick(NAMES), value(depth));
    const parts = [...members].sort(() => next() - 0.5).map(([k, v]) => `${ws()}${str(k)}${ws()}:${ws()}${v}${ws()}`);
    return `{${parts.join(',')}${parts.length === 0 ? ws() : ''}}`;
  };
  const message = (): string => {
    const members: Array<readonly [string, string]> = [];
    if (next() < 0.95) members.push(['jsonrpc', next() < 0.9 ? '"2.0"' : pick(['"2.1"', '2', 'null', '"2\\u002e0"'])]);
    if (next() < 0.85) members.push(['id', scalar()]);
    const answer = next() < 0.15;
    if (answer) members.push([pick(['result', 'error']), value(1)]);
    if (next() < (answer ? 0.1 : 0.85)) members.push(['method', next() < 0.95 ? str(pick(METHODS)) : scalar()]);
    if (next() < 0.85) {
      const params: Array<readonly [string, string]> = [];
      if (next() < 0.6) params.push([pick(['name', 'uri']), next() < 0.9 ? str(pick(['echo', 'file:///x', 'a_b'])) : value(2)]);
      if (next() < 0.2) params.push(['ref', next() < 0.8 ? object(2, 2, [['type', str(pick(['ref/prompt', 'ref/resource', 'ref/x']))]]) : value(2)]);
      if (next() < 0.3) params.push(['_meta', object(2, 1, [['progressToken', scalar()]])]);
      members.push(['params', next() < 0.9 ? object(1, Math.floor(next() * 3), params) : value(1)]);
    }
    if (next() < 0.05) {
      // nested right around the limit
      const levels = 124 + Math.floor(next() * 8);
      members.push(['deep', `${'['.repeat(levels)}${']'.repeat(levels)}`]);
    }
    return `${ws()}${object(0, Math.floor(next() * 2), members)}${ws()}`;
  };
  /** the text with one object's first member repeated (under the same or an escaped name) */
  const duplicateInto = (text: string): string => {
    const objects = [...text.matchAll(/\{\s*("(?:[^"\\]|\\.)*")\s*:/g)];
    if (objects.length === 0) return text;
    const o = pick(objects);
    const name = JSON.parse(o[1] ?? '""') as string;
    const at = (o.index ?? 0) + 1;
    return `${text.slice(0, at)}${str(name)}:${scalar()},${text.slice(at)}`;
  };
  return { message, duplicateInto };
}

// Characters that make or break JSON: structure, literals' letters, digits, escapes, controls.
const ALPHABET = ' \t\n\r{}[]:,"\\/-+.eE0123456789tfnrulsabu\u0000\u001f\u00e9';

test('differential against JSON.parse and the character-by-character check: 40,000 seeded messages', () => {
  const next = random(20261207);
  const { message, duplicateInto } = generator(next);
  const counts = { request: 0, notification: 0, response: 0, duplicate: 0, deep: 0, notJson: 0, otherInvalid: 0 };
  for (let n = 0; n < 40_000; n++) {
    let text = message();
    const r = next();
    if (r < 0.15) text = duplicateInto(text);
    else if (r < 0.55) {
      for (let edits = next() < 0.5 ? 1 : 2; edits > 0; edits--) {
        const at = Math.floor(next() * (text.length + 1));
        const kind = next();
        const ch = ALPHABET.charAt(Math.floor(next() * ALPHABET.length));
        if (kind < 0.33) text = text.slice(0, at) + text.slice(at + 1);
        else if (kind < 0.66) text = text.slice(0, at) + ch + text.slice(at);
        else text = text.slice(0, at) + ch + text.slice(at + 1);
      }
    }
    const got: ParsedMessage = parseMessage(text);
    assert.deepEqual(got, referenceParseMessage(text), JSON.stringify(text));
    assert.equal(got.kind === 'invalid' && got.reason === 'body is not valid JSON', !parses(text), JSON.stringify(text));
    if (got.kind !== 'invalid') counts[got.kind]++;
    else if (got.reason.startsWith('duplicate')) counts.duplicate++;
    else if (got.reason.startsWith('nested')) counts.deep++;
    else if (got.reason === 'body is not valid JSON') counts.notJson++;
    else counts.otherInvalid++;
  }
  // Each kind of outcome must come up often enough for the comparison to mean something.
  for (const [kind, count] of Object.entries(counts)) assert.ok(count > 300, `only ${count} ${kind}: ${JSON.stringify(counts)}`);
});
