import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownFieldName, knownMethod } from '../../../src/main/http/known-names.js';

test('a known name comes back as the same text', () => {
  for (const name of ['host', 'content-type', 'content-length', 'mcp-session-id', 'mcp-protocol-version', 'authorization', 'te']) {
    // A string built at run time, as uWS gives names, not the literal itself.
    const fresh = [...name].join('');
    assert.equal(knownFieldName(fresh), name);
  }
});

test('an unknown name, one of a known length, a longer one and the empty one come back as they are', () => {
  for (const name of ['x-bench-sse', 'hostx', 'tost', 'x'.repeat(200), '', '__proto__', 'constructor', 'length']) {
    assert.equal(knownFieldName(name), name);
  }
});

test('a method comes back upper-cased, known or not', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [['POST', 'POST'], ['post', 'POST'], ['Get', 'GET'], ['options', 'OPTIONS'], ['PROPFIND', 'PROPFIND'], ['brew', 'BREW'], ['', '']];
  for (const [given, upper] of cases) {
    assert.equal(knownMethod([...given].join('')), upper);
  }
});
