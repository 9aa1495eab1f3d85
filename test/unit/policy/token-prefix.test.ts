import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startsWithIgnoringCase } from '../../../src/main/policy/bearer.js';

const reference = (value: string, prefix: string): boolean => value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();

test('a token prefix is matched as comparing lower-cased forms would match it', () => {
  const prefixes = ['Bearer ', 'bearer ', 'Token ', 'X@[`{ ', 'Ünï ', 'İx', 'ΣΑ ', ''];
  const values = ['Bearer abc', 'BEARER abc', 'bEaReR abc', 'Bearer\tabc', 'Bearex abc', 'bearer', 'x@{`[ abc', 'X@[`{ abc',
    'ünï abc', 'ÜNÏ abc', 'i̇x abc', 'İx abc', 'σα abc', 'Token', 'Tokenx', 'token abc', '', '@earer abc', '`earer abc'];
  for (const p of prefixes) for (const v of values) assert.equal(startsWithIgnoringCase(v, p), reference(v, p), `${JSON.stringify(v)} / ${JSON.stringify(p)}`);
});
