import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseEventTooLargeError, SseSplitter } from '../../../src/protocol/sse.js';

function split(chunks: readonly string[]): Array<string | null> {
  const s = new SseSplitter();
  return chunks.flatMap((c) => s.push(c).map((e) => e.data));
}

test('an empty line ends an event whatever mix of CRLF, LF and CR ends it and the line before', () => {
  for (const end of ['\n\n', '\r\n\r\n', '\r\r', '\n\r\n', '\r\n\n', '\r\r\n', '\n\r']) {
    // the comment after completes a last event that ended in a CR (it may have been a CRLF)
    assert.deepEqual(split([`data: a${end}data: b${end}`, ':\n\n']).filter((d) => d !== null), ['a', 'b'], JSON.stringify(end));
  }
});

test('a CR at the end of a chunk waits for the next: it may be half a CRLF', () => {
  assert.deepEqual(split(['data: a\r\n\r', '\ndata: b\n\n']), ['a', 'b']);
  assert.deepEqual(split(['data: a\n\r', '\n', 'data: b\r', '\r', '\n']), ['a', 'b']);
  // one event, not an event and an empty one
  const s = new SseSplitter();
  assert.deepEqual(s.push('data: a\r\n\r').length, 0);
  assert.deepEqual(s.push('\n').map((e) => e.data), ['a']);
  assert.equal(s.rest(), '');
});

test('data lines join with LF; other fields are kept', () => {
  const s = new SseSplitter();
  const [e] = s.push('id: 7\r\nevent: message\rdata: x\ndata:y\n\n');
  assert.deepEqual(e?.lines, ['id: 7', 'event: message', 'data: x', 'data:y']);
  assert.equal(e?.data, 'x\ny');
});

test('events split the same whether the text comes whole or in chunks of any size', () => {
  const text = 'data: a\n\r\nid: 1\r\ndata: b\r\rdata: c\r\n\ndata: d\r\n\r\n: note\n\ndata: e\n\n';
  const whole = split([text]);
  for (let size = 1; size <= 7; size++) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    assert.deepEqual(split(chunks), whole, `chunks of ${size}`);
  }
  assert.deepEqual(whole, ['a', 'b', 'c', 'd', null, 'e']);
});

test('an event still open past the limit is refused', () => {
  const s = new SseSplitter(10);
  assert.deepEqual(s.push('data: 1234').map((e) => e.data), []);
  assert.throws(() => s.push('5678'), SseEventTooLargeError);
  // complete events of any length are fine; only what stays open counts
  const t = new SseSplitter(10);
  assert.deepEqual(t.push(`data: ${'x'.repeat(50)}\n\ndata: y`).map((e) => e.data), ['x'.repeat(50)]);
});
