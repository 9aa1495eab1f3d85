// The response parser's table of field names and last values (h1/seen-fields.ts) changes nothing
// it gives: names keep their case, a value differing from the last one is read and checked
// afresh, and framing still follows each answer's own fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H1Error } from '../../../src/main/upstream/h1/errors.js';
import { ResponseParser, type ResponseSink } from '../../../src/main/upstream/h1/response-parser.js';
import { seenField } from '../../../src/main/upstream/h1/seen-fields.js';

/** Each answer's head fields (Buffers as latin1 text marked `bytes:`) and body, or the error. */
function read(answers: readonly string[]): string[] {
  const out: string[] = [];
  let body = '';
  const sink: ResponseSink = {
    messageBegin: () => true,
    head: (status, headers) => {
      out.push(`${status} ${headers.map((h) => (typeof h === 'string' ? h : `bytes:${h.toString('latin1')}`)).join('|')}`);
      return true;
    },
    body: (chunk) => {
      body += chunk.toString('latin1');
      return true;
    },
    end: () => {
      out.push(`body ${body}`);
      body = '';
    },
  };
  const parser = new ResponseParser(sink);
  for (const a of answers) {
    try {
      parser.push(Buffer.from(a, 'latin1'));
    } catch (err) {
      out.push(`error ${err instanceof H1Error ? err.code : String(err)}`);
      break;
    }
  }
  return out;
}

test('names and values read from the table are those of each answer, case and all', () => {
  assert.deepEqual(
    read([
      'HTTP/1.1 200 OK\r\nX-Seen-A: one\r\nContent-Length: 2\r\n\r\nhi',
      'HTTP/1.1 200 OK\r\nx-seen-a: one\r\nContent-Length: 3\r\n\r\nhey',
      'HTTP/1.1 200 OK\r\nX-Seen-A: two\r\ncontent-length: 2\r\n\r\nyo',
      'HTTP/1.1 200 OK\r\nX-Seen-A: tw\xe9\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nX-Seen-A: two\r\nContent-Length: 2\r\n\r\nok',
    ]),
    [
      '200 X-Seen-A|one|Content-Length|2',
      'body hi',
      '200 x-seen-a|one|Content-Length|3',
      'body hey',
      '200 X-Seen-A|two|content-length|2',
      'body yo',
      '200 X-Seen-A|bytes:tw\xe9|Content-Length|2',
      'body ok',
      '200 X-Seen-A|two|Content-Length|2',
      'body ok',
    ],
  );
});

test('a value unlike the last one of its name is checked: a control character is refused', () => {
  const out = read(['HTTP/1.1 200 OK\r\nX-Seen-B: v\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 200 OK\r\nX-Seen-B: v\x01\r\nContent-Length: 0\r\n\r\n']);
  assert.deepEqual(out, ['200 X-Seen-B|v|Content-Length|0', 'body ', 'error GW_UPSTREAM_BAD_RESPONSE']);
});

test('framing follows each answer: a length seen before, then a bad one, then two of them', () => {
  assert.deepEqual(read(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', 'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nhi']).at(-1), 'error GW_UPSTREAM_BAD_RESPONSE');
  assert.deepEqual(read(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi']).at(-1), 'error GW_UPSTREAM_BAD_RESPONSE');
  assert.deepEqual(read(['HTTP/1.1 200 OK\r\nContent-Length: 2 \r\n\r\nhi', 'HTTP/1.1 200 OK\r\nContent-Length: 0002 \r\n\r\nhi']), ['200 Content-Length|2 ', 'body hi', '200 Content-Length|0002 ', 'body hi']);
});

test('names sent once cannot fill the table for good: after a flood of new ones, a name is kept again', () => {
  const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
  for (let i = 0; i < 200; i++) seenField(bytes(`x-flood-${i}`), 0, `x-flood-${i}`.length);
  const name = bytes('content-type');
  const first = seenField(name, 0, name.length);
  assert.ok(first !== null);
  assert.equal(seenField(name, 0, name.length), first);
  assert.equal(first.name, 'content-type');
});
