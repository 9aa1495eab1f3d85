import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownFieldName } from '../../../src/main/http/field-names.js';

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
