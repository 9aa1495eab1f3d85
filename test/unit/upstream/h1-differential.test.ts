// The gateway's HTTP/1.1 upstream client against undici on the same upstream answers: each
// answer is sent, byte for byte, to one request from each client (through HttpPools, the seam
// the gateway uses), and what their handlers hear must agree: status, raw header fields, body
// bytes, and whether the answer ended well or in an error. Where this client is deliberately
// stricter (it refuses an answer undici reads), the case says so and why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CleanupHost } from '../../helpers/files.js';
import { answerWithBytes, assertAgree, CLIENTS, exchange, type Outcome, poolsOf, postRequest, startRawUpstream } from '../../helpers/raw-upstream.js';

interface Case {
  readonly name: string;
  readonly answer: string;
  /** how undici ends it (both must end it so) */
  readonly expect?: 'complete' | 'error';
  /** why this client refuses what undici reads */
  readonly stricter?: string;
}

const ok = (name: string, answer: string): Case => ({ name, answer, expect: 'complete' });
const bad = (name: string, answer: string): Case => ({ name, answer, expect: 'error' });
const stricter = (name: string, answer: string, why: string): Case => ({ name, answer, stricter: why });

const CL = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

const CASES: readonly Case[] = [
  ok('content-length', CL('{"jsonrpc":"2.0","id":1,"result":{}}', 'Content-Type: application/json\r\n')),
  ok('chunked, sizes in both hex cases, leading zeros', `${CHUNKED}2\r\nhi\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0002\r\nok\r\n000\r\n\r\n`),
  ok('chunk extensions', `${CHUNKED}2;a=b\r\nhi\r\n2;a\r\nhi\r\n2;a="q;x"\r\nhi\r\n2;a=b;c=d\r\nhi\r\n0;z=1\r\n\r\n`),
  ok('chunk extensions with an empty name before a value, or an empty value', `${CHUNKED}2;=b\r\nhi\r\n2;a=\r\nhi\r\n2;a=;b\r\nhi\r\n0;=\r\n\r\n`),
  ok('trailers', `${CHUNKED}2\r\nhi\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n`),
  ok('103 then 200', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  ok('102 then 200', 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  ok('103 then 204', 'HTTP/1.1 103 EH\r\n\r\nHTTP/1.1 204 No\r\n\r\n'),
  ok('two 1xx then chunked', `HTTP/1.1 102 P\r\n\r\nHTTP/1.1 103 EH\r\nLink: </b>\r\n\r\n${CHUNKED}2\r\nhi\r\n0\r\n\r\n`),
  ok('HTTP/1.0 with length', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  ok('HTTP/1.0 read to the close', 'HTTP/1.0 200 OK\r\n\r\nhello'),
  ok('read to the close', 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n'),
  ok('no reason phrase', 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi'),
  ok('empty reason phrase', 'HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nhi'),
  ok('status 600', 'HTTP/1.1 600 X\r\nContent-Length: 2\r\n\r\nhi'),
  ok('obs-text in a value', CL('hi', 'X-A: a\xe9b\r\n')),
  ok('blanks around a value (trailing kept, as llhttp)', CL('hi', 'X-A:\t v \t\r\nX-B:   \r\nX-C:\r\n')),
  ok('a colon in a value', CL('hi', 'X:a:b\r\n')),
  ok('204 without length', 'HTTP/1.1 204 No Content\r\n\r\n'),
  ok('204 with length 0', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'),
  ok('204 with chunked', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n'),
  ok('304 without length', 'HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n'),
  ok('empty lines before the status line', `\r\n\r\n${CL('hi')}`),
  ok('bare LFs before the status line', `\n\r\n\n${CL('hi')}`),
  ok('bare CRs before the status line', `\r\n\r\r${CL('hi')}`),
  ok('chunked in capitals, with blanks', 'HTTP/1.1 200 OK\r\nTransfer-Encoding:  CHUNKED \r\n\r\n2\r\nhi\r\n0\r\n\r\n'),
  ok('Connection: close', CL('hi', 'Connection: close\r\n')),
  ok('Connection: keep-alive, CLOSE', CL('hi', 'Connection: keep-alive, CLOSE\r\n')),
  ok('length with leading zeros and a trailing blank', 'HTTP/1.1 200 OK\r\nContent-Length: 002 \r\n\r\nhi'),
  ok('bytes after a whole answer', `${CL('hi')}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil`),
  ok('a long reason phrase (20 KB)', `HTTP/1.1 200 ${'r'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nhi`),
  ok('field bytes just under the limit (16383)', CL('hi', `X-A: ${'a'.repeat(16_383 - 3 - 15)}\r\n`)),
  ok('2000 short fields', CL('hi', 'a: b\r\n'.repeat(2000))),
  bad('field bytes at the limit (16384)', CL('hi', `X-A: ${'a'.repeat(16_384 - 3 - 15)}\r\n`)),
  bad('100 Continue (never asked for)', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  bad('101 Switching Protocols', 'HTTP/1.1 101 Switching\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nxx'),
  bad('204 with a length', 'HTTP/1.1 204 No\r\nContent-Length: 5\r\n\r\nhello'),
  bad('304 with a length', 'HTTP/1.1 304 No\r\nContent-Length: 5\r\n\r\n'),
  bad('Content-Length and Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'),
  bad('Transfer-Encoding identity and a length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nhi'),
  bad('two equal Content-Length fields', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi'),
  bad('two different Content-Length fields', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi'),
  bad('a length with a trailing tab', 'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nhi'),
  bad('a zero length with a trailing tab', 'HTTP/1.1 200 OK\r\nContent-Length: 0\t\r\n\r\n'),
  bad('a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi'),
  bad('a negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi'),
  bad('a signed length', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi'),
  bad('a hex length', 'HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nhi'),
  bad('an empty length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhi'),
  bad('a huge length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhi'),
  bad('a length longer than the body', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi'),
  bad('obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nhi'),
  bad('bare LF line ends', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nhi'),
  bad('a bare LF after a field', 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nhi'),
  bad('a bare CR in a value (response splitting)', 'HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 0\r\nContent-Length: 2\r\n\r\nhi'),
  bad('NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nhi'),
  bad('DEL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a blank before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a tab in a name', 'HTTP/1.1 200 OK\r\nX-A\t: 1\r\nContent-Length: 2\r\n\r\nhi'),
  bad('an empty name', 'HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a field without a colon', 'HTTP/1.1 200 OK\r\nXA\r\nContent-Length: 2\r\n\r\nhi'),
  bad('obs-text in a name', 'HTTP/1.1 200 OK\r\nX-\xe9: ab\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a two-digit status', 'HTTP/1.1 20 X\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a four-digit status', 'HTTP/1.1 2000 X\r\nContent-Length: 2\r\n\r\nhi'),
  bad('status 099', 'HTTP/1.1 099 X\r\nContent-Length: 2\r\n\r\nhi'),
  bad('two blanks before the status', 'HTTP/1.1  200 X\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a tab before the reason', 'HTTP/1.1 200\tOK\r\nContent-Length: 2\r\n\r\nhi'),
  bad('lower-case http', 'http/1.1 200 X\r\nContent-Length: 2\r\n\r\nhi'),
  bad('HTTP/3.0', 'HTTP/3.0 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  bad('HTTP/1.12', 'HTTP/1.12 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  bad('not HTTP at all', 'hello world\r\n\r\n'),
  bad('nothing: the upstream closes', ''),
  bad('a head cut short', 'HTTP/1.1 200 OK\r\nContent-Le'),
  bad('a body cut short', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi'),
  bad('a chunked body cut short', `${CHUNKED}2\r\nhi\r\n`),
  bad('no CRLF after the last chunk', `${CHUNKED}0\r\n`),
  bad('a chunk size with a blank', `${CHUNKED}2 \r\nhi\r\n0\r\n\r\n`),
  bad('a blank before an extension', `${CHUNKED}2 ;a\r\nhi\r\n0\r\n\r\n`),
  bad('a blank inside an extension', `${CHUNKED}2; a=b\r\nhi\r\n0\r\n\r\n`),
  bad('an extension without a name or value', `${CHUNKED}2;\r\nhi\r\n0\r\n\r\n`),
  bad('a control character in an extension', `${CHUNKED}2;a\x01\r\nhi\r\n0\r\n\r\n`),
  bad('a 0x chunk size', `${CHUNKED}0x2\r\nhi\r\n0\r\n\r\n`),
  bad('an empty chunk size', `${CHUNKED}\r\nhi\r\n0\r\n\r\n`),
  bad('a negative chunk size', `${CHUNKED}-2\r\nhi\r\n0\r\n\r\n`),
  bad('a chunk size overflowing', `${CHUNKED}FFFFFFFFFFFFFFFFFF\r\nhi\r\n0\r\n\r\n`),
  bad('chunk data longer than its size', `${CHUNKED}2\r\nhiX0\r\n\r\n`),
  bad('bare LF in chunked framing', `${CHUNKED}2\nhi\n0\n\n`),
  bad('a 1xx with a body', 'HTTP/1.1 103 EH\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  bad('a Content-Length trailer', `${CHUNKED}2\r\nhi\r\n0\r\nContent-Length: 0\r\n\r\n`),
  bad('a content-length trailer after another', `${CHUNKED}2\r\nhi\r\n0\r\nX-T: 1\r\ncontent-LENGTH: 2\r\n\r\n`),
  ok('a Transfer-Encoding trailer (llhttp reads past it)', `${CHUNKED}2\r\nhi\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n`),
  bad('a trailer without a colon', `${CHUNKED}0\r\nX-T 1\r\n\r\n`),
  bad('NUL in a trailer', `${CHUNKED}0\r\nA: \x00\r\n\r\n`),
  bad('a folded trailer', `${CHUNKED}0\r\nA: 1\r\n 2\r\n\r\n`),
  stricter('Transfer-Encoding gzip', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello', 'undici reads the body to the close as if it were not encoded; a coding the gateway cannot undo is refused'),
  stricter('Transfer-Encoding gzip, chunked', `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'undici passes the still gzip-coded bytes on as the body'),
  stricter('Transfer-Encoding chunked, gzip', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'undici reads the chunked framing to the close as the body: an answer whose end is not where it says'),
  stricter('Transfer-Encoding chunked twice', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'chunked may be applied once (RFC 9112 §6.1); two fields are a framing ambiguity'),
  stricter('Transfer-Encoding chunked with a trailing comma', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'undici does not take it as chunked and reads the framing to the close as the body: the two clients would end the answer at different bytes'),
  stricter('Transfer-Encoding with an empty list element first', `HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'undici takes it as chunked and would not after the element (above): a list with empty elements is refused either way'),
  stricter('Transfer-Encoding chunked and a no-break space', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\xa0\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, 'a coding named `chunked\\xa0` is not chunked'),
  stricter('an empty chunk extension between two', `${CHUNKED}2;a;;b\r\nhi\r\n0\r\n\r\n`, 'llhttp refuses `;;` straight after the size but not after an extension; an empty extension is refused wherever it is'),
  stricter('an empty Transfer-Encoding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\nhi', 'undici reads to the close; the framing is not what the sender says'),
  stricter('HTTP/2.0 in an HTTP/1.1 answer', 'HTTP/2.0 200 X\r\nContent-Length: 2\r\n\r\nhi', 'only HTTP/1.0 and HTTP/1.1 answers are HTTP/1.1 messages'),
  stricter('HTTP/0.9', 'HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nhi', 'only HTTP/1.0 and HTTP/1.1 answers are HTTP/1.1 messages'),
  stricter('NUL in the reason phrase', 'HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nhi', 'the reason phrase takes no control characters (RFC 9112 §4)'),
  stricter('a control character in the reason phrase', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nhi', 'the reason phrase takes no control characters (RFC 9112 §4)'),
  stricter('a head over 64 KiB on the wire in fields under 16 KiB', CL('hi', 'a:    \r\n'.repeat(9_000)), 'every head is bounded on the wire, not only by its field bytes'),
  stricter('a reason phrase over 64 KiB', `HTTP/1.1 200 ${'r'.repeat(70_000)}\r\nContent-Length: 2\r\n\r\nhi`, 'every head is bounded on the wire'),
];

/** One request through `client` answered with `answer`, the upstream closing after it. */
async function through(t: CleanupHost, client: 'undici' | 'portcullis', answer: string): Promise<Outcome> {
  const up = await startRawUpstream(t);
  up.script = answerWithBytes(answer, 'end');
  return exchange(poolsOf(t, client), up.url, postRequest());
}

describe('HTTP/1.1 client, differential against undici', () => {
  for (const c of CASES) {
    it(c.stricter === undefined ? c.name : `${c.name} (stricter: ${c.stricter})`, async (t) => {
      const [undici, ours] = await Promise.all(CLIENTS.map((client) => through(t, client, c.answer)));
      if (undici === undefined || ours === undefined) throw new Error('no outcome');
      if (c.stricter !== undefined) {
        assert.equal(undici.ended, 'complete', `undici reads it: ${undici.error?.message ?? ''}`);
        assert.equal(ours.ended, 'error');
        assert.equal(ours.late, 0);
        return;
      }
      if (c.expect !== undefined) assert.equal(undici.ended, c.expect, `undici: ${undici.error?.message ?? 'complete'}`);
      assertAgree(c.name, undici, ours);
    });
  }

  it('the request bytes are the same as undici writes', async (t) => {
    const up = await startRawUpstream(t);
    const req = postRequest('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-session-id': 'abc', 'x-latin1': 'caf\xe9', cookie: 'a=b; c=d' });
    for (const client of CLIENTS) assert.equal((await exchange(poolsOf(t, client), up.url, req)).ended, 'complete');
    const [undici, ours] = up.requests.map((r) => r.bytes.toString('latin1'));
    assert.equal(ours, undici);
    assert.match(ours ?? '', /^POST \/mcp HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nconnection: keep-alive\r\ncontent-type: application\/json\r\n/);
  });

  it('GET and DELETE without a body carry no Content-Length, as undici sends them', async (t) => {
    const up = await startRawUpstream(t);
    for (const method of ['GET', 'DELETE'] as const) {
      for (const client of CLIENTS) {
        const outcome = await exchange(poolsOf(t, client), up.url, { ...postRequest(), method, body: null });
        assert.equal(outcome.ended, 'complete');
      }
    }
    const sent = up.requests.map((r) => r.bytes.toString('latin1'));
    assert.equal(sent[1], sent[0]);
    assert.equal(sent[3], sent[2]);
    assert.doesNotMatch(sent.join(''), /content-length/);
  });

  it('a field that could split the request is refused by both, and nothing is sent', async (t) => {
    const up = await startRawUpstream(t);
    const attempts: Array<Record<string, string>> = [
      { 'x-a': 'a\r\nx-injected: 1' },
      { 'x-a': 'a\nb' },
      { 'x-a': 'a\x00b' },
      { 'x-a': 'a\rb' },
      { 'x-a': 'a\x7fb' },
      { 'x-a': 'caf\u0101' },
      { 'x a': 'b' },
      { 'x:a': 'b' },
      { '': 'b' },
      { 'x-a\r\nx-b': 'c' },
      { 'transfer-encoding': 'chunked' },
      { expect: '100-continue' },
      { upgrade: 'websocket' },
      { 'keep-alive': 'timeout=5' },
      { 'content-length': '1' },
    ];
    for (const headers of attempts) {
      const outcomes = await Promise.all(CLIENTS.map((client) => exchange(poolsOf(t, client), up.url, postRequest('{}', headers))));
      for (const o of outcomes) assert.equal(o.ended, 'error', JSON.stringify(headers));
    }
    assert.equal(up.requests.length, 0, 'nothing was sent for any of them');
  });
});
