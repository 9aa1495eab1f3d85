// ambiguousFraming: what makes a request's body boundary depend on which Content-Length a
// reader takes (RFC 9112 §6.3), so the gateway drops it rather than relay it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ambiguousFraming } from '../../../src/main/http/request.js';

test('conflicting Content-Lengths, in separate fields or in one list, and Content-Length beside Transfer-Encoding are ambiguous', () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<readonly [string, string]>, string | null]> = [
    [[['content-length', '5']], null],
    [[['content-length', '5'], ['content-length', '5']], null],
    [[['content-length', '5, 5']], null],
    [[['transfer-encoding', 'chunked']], null],
    [[], null],
    [[['content-length', '5'], ['content-length', '6']], 'conflicting Content-Length fields'],
    [[['content-length', '5, 6']], 'conflicting Content-Length fields'],
    [[['content-length', '5,']], 'conflicting Content-Length fields'],
    [[['content-length', '5,,5']], 'conflicting Content-Length fields'],
    [[['content-length', ' 5 ,5']], null],
    [[['content-length', '5'], ['x', 'y'], ['content-length', ' 50']], 'conflicting Content-Length fields'],
    [[['transfer-encoding', 'chunked'], ['content-length', '5']], 'both Transfer-Encoding and Content-Length'],
    [[['content-length', '5'], ['transfer-encoding', 'chunked']], 'both Transfer-Encoding and Content-Length'],
    [[['transfer-encoding', 'Chunked']], null],
    [[['transfer-encoding', ' chunked ']], null],
    [[['transfer-encoding', 'xchunked']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', 'chunked, identity']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', 'gzip, chunked']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', 'identity']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', 'chunked;x=1']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', '']], 'a Transfer-Encoding other than chunked'],
    [[['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']], 'several Transfer-Encoding fields'],
  ];
  for (const [headers, expected] of cases) assert.equal(ambiguousFraming(headers), expected, JSON.stringify(headers));
});
