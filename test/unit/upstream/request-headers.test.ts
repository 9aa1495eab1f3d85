// The record of forwarded request fields reaches no Object.prototype: fields named like its
// members are fields like any other, forwarded as sent, repeated ones joined, into the head.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamRequestHeaders } from '../../../src/main/upstream/headers.js';
import { FieldLinesCache, joinRequests, largeBody, requestBytes } from '../../../src/main/upstream/h1/request-head.js';

test('fields named after Object.prototype members are forwarded as sent, and only as sent', () => {
  const headers = upstreamRequestHeaders(
    [['constructor', 'a'], ['__proto__', 'b'], ['tostring', 'c'], ['constructor', 'd'], ['host', 'x'], ['content-type', 'application/json']],
    { sessionId: 's1', authorization: undefined },
  );
  assert.equal(headers['constructor'], 'a, d');
  // biome-ignore lint/suspicious/noProto: reads the record's own field of that name, no accessor
  assert.equal(headers['__proto__'], 'b');
  assert.equal(headers['hasOwnProperty'], undefined);
  assert.equal(headers['toString'], undefined);
  assert.deepEqual(Object.keys(headers), ['constructor', '__proto__', 'tostring', 'content-type', 'mcp-session-id']);
  const request = requestBytes({ method: 'POST', path: '/mcp', headers, body: Buffer.from('{}') }, 'host: up\r\n');
  assert.ok(!(request instanceof Error));
  assert.equal(
    joinRequests([{ request }]).toString('latin1'),
    'POST /mcp HTTP/1.1\r\nhost: up\r\nconnection: keep-alive\r\nconstructor: a, d\r\n__proto__: b\r\ntostring: c\r\n' +
      'content-type: application/json\r\nmcp-session-id: s1\r\ncontent-length: 2\r\n\r\n{}',
  );
});

test('a forwarded value with CR, LF or NUL refuses the whole request', () => {
  for (const bad of ['a\r\nx-evil: 1', 'a\nb', 'a\rb', 'a\u0000b']) {
    const headers = upstreamRequestHeaders([['x-client', bad]], { sessionId: undefined, authorization: undefined });
    const request = requestBytes({ method: 'POST', path: '/mcp', headers, body: null }, 'host: up\r\n');
    assert.ok(request instanceof Error && 'code' in request && request.code === 'GW_UPSTREAM_BAD_REQUEST', JSON.stringify(bad));
  }
});

test("a turn's requests are joined in order, each body behind its head, a large body left to a write of its own", () => {
  const headers = upstreamRequestHeaders([['x-a', 'é']], { sessionId: undefined, authorization: undefined });
  const parts = (body: Buffer | null): { request: ReturnType<typeof requestBytes> } => ({ request: requestBytes({ method: 'POST', path: '/p', headers, body }, 'host: up\r\n') });
  const large = Buffer.alloc(64 * 1024, 120);
  const sent = [parts(Buffer.from('{"a":1}')), parts(null), parts(large), parts(Buffer.from('z'))];
  const requests = sent.map(({ request }) => {
    assert.ok(!(request instanceof Error));
    return { request };
  });
  const head = (length: number): string => `POST /p HTTP/1.1\r\nhost: up\r\nconnection: keep-alive\r\nx-a: \xc3\xa9\r\ncontent-length: ${length}\r\n\r\n`;
  assert.equal(joinRequests(requests).toString('latin1'), `${head(7)}{"a":1}${head(0)}${head(65536)}${head(1)}z`);
  assert.equal(largeBody(requests[2]?.request ?? assert.fail()), large);
  assert.equal(largeBody(requests[0]?.request ?? assert.fail()), null);
});

test("a pool's last field lines serve only a request with the same fields, in the same order", () => {
  const cache = new FieldLinesCache();
  const head = (headers: Record<string, string>, body: Buffer | null = null): string => {
    const request = requestBytes({ method: 'POST', path: '/p', headers, body }, 'host: up\r\n', cache);
    return request instanceof Error ? `refused: ${request.message}` : request.head;
  };
  const first = head({ 'x-a': '1', connection: 'close', host: 'h' });
  assert.equal(first, 'POST /p HTTP/1.1\r\nhost: h\r\nconnection: close\r\nx-a: 1\r\ncontent-length: 0\r\n\r\n');
  assert.equal(head({ 'x-a': '1', connection: 'close', host: 'h' }), first, 'the same fields: the same head, host and close included');
  assert.equal(head({ 'x-a': '2', connection: 'close', host: 'h' }), first.replace('x-a: 1', 'x-a: 2'));
  assert.match(head({ 'x-a': '2\r\nx-evil: 1', connection: 'close', host: 'h' }), /^refused: /, 'a changed value is checked again');
  assert.match(head({ 'x-a': '2', connection: 'close', host: 'h', 'x b': '1' }), /^refused: /, 'an added field is checked');
  assert.equal(head({ 'x-a': '2', connection: 'close' }), 'POST /p HTTP/1.1\r\nhost: up\r\nconnection: close\r\nx-a: 2\r\ncontent-length: 0\r\n\r\n');
  assert.equal(head({ connection: 'close', 'x-a': '2' }), 'POST /p HTTP/1.1\r\nhost: up\r\nconnection: close\r\nx-a: 2\r\ncontent-length: 0\r\n\r\n');
  assert.equal(head({ 'x-a': '2' }), 'POST /p HTTP/1.1\r\nhost: up\r\nconnection: keep-alive\r\nx-a: 2\r\ncontent-length: 0\r\n\r\n');
  // A request's own content-length is checked against its body every time.
  assert.equal(head({ 'content-length': '2' }, Buffer.from('{}')), 'POST /p HTTP/1.1\r\nhost: up\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n');
  assert.match(head({ 'content-length': '2' }, Buffer.from('{}}')), /^refused: .*content-length/);
});
