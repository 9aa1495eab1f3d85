// The framing decision on its own (h1/body-framing.ts): each way a head could make an answer's
// end ambiguous is refused with its reason; the rest give the length, chunked or to-the-close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyFraming, contentLength, type FramingFields } from '../../../src/main/upstream/h1/body-framing.js';

function fields(transferEncoding: string | null, contentLength: string | null, contentLengths = contentLength === null ? 0 : 1): FramingFields {
  return { transferEncoding, contentLength, contentLengths };
}

test('a length, chunked, or read to the close', () => {
  assert.equal(bodyFraming(fields(null, '42')), 42);
  assert.equal(bodyFraming(fields(null, '0')), 0);
  assert.equal(bodyFraming(fields(null, '7  ')), 7);
  assert.equal(bodyFraming(fields('chunked', null)), 'chunked');
  assert.equal(bodyFraming(fields('CHUNKED \t', null)), 'chunked');
  assert.equal(bodyFraming(fields(null, null)), null);
});

test('what could make the end ambiguous is refused, each for its reason', () => {
  const refused: Array<[FramingFields, string]> = [
    [fields('gzip, chunked', null), 'a Transfer-Encoding other than chunked'],
    [fields('chunked,', null), 'a Transfer-Encoding other than chunked'],
    [fields('chunked,chunked', null), 'a Transfer-Encoding other than chunked'],
    [fields('identity', null), 'a Transfer-Encoding other than chunked'],
    [fields('chunked', '5'), 'both Transfer-Encoding and Content-Length'],
    [fields(null, '5', 2), 'several Content-Length fields'],
    [fields(null, '-1'), 'invalid Content-Length'],
    [fields(null, '5\t'), 'invalid Content-Length'],
    [fields(null, '0x10'), 'invalid Content-Length'],
    [fields(null, ''), 'invalid Content-Length'],
    [fields(null, '1234567890123456'), 'invalid Content-Length'],
  ];
  for (const [f, problem] of refused) assert.deepEqual(bodyFraming(f), { problem }, JSON.stringify(f));
});

test('Content-Length: 1 to 15 digits then only spaces', () => {
  assert.equal(contentLength('999999999999999'), 999_999_999_999_999);
  assert.equal(contentLength('12 '), 12);
  assert.equal(contentLength(' 12'), -1);
  assert.equal(contentLength('1 2'), -1);
  assert.equal(contentLength('+1'), -1);
});
