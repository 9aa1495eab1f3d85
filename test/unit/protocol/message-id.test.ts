// replaceMessageId: only the top-level id's token changes; everything else stays byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replaceMessageId } from '../../../src/protocol/message-id.js';

test('replaces a number or string id and keeps the rest as sent', () => {
  assert.equal(replaceMessageId('{"jsonrpc":"2.0","id":7,"method":"ping"}', 1), '{"jsonrpc":"2.0","id":1,"method":"ping"}');
  assert.equal(replaceMessageId('{ "id" : "a\\"b" , "result":{"n":12345678901234567890}}', 'x'), '{ "id" : "x" , "result":{"n":12345678901234567890}}');
  assert.equal(replaceMessageId('{"result":{"x":1.0},"id":-2e3}', 5), '{"result":{"x":1.0},"id":5}');
  assert.equal(replaceMessageId('{"id":null,"error":{}}', 3), '{"id":3,"error":{}}');
});

test('ids deeper in the message are left alone', () => {
  const text = '{"params":{"id":1,"list":[{"id":2}],"s":"\\"id\\":3"},"id":4}';
  assert.equal(replaceMessageId(text, 9), '{"params":{"id":1,"list":[{"id":2}],"s":"\\"id\\":3"},"id":9}');
});

test('an id spelt with escapes, and every duplicate, is replaced', () => {
  assert.equal(replaceMessageId('{"\\u0069d":1,"id":2}', 'c'), '{"\\u0069d":"c","id":"c"}');
});

test('no object, no id, or an id that is no scalar: null', () => {
  assert.equal(replaceMessageId('[{"id":1}]', 2), null);
  assert.equal(replaceMessageId('{"method":"x"}', 2), null);
  assert.equal(replaceMessageId('{"id":{"a":1}}', 2), null);
  assert.equal(replaceMessageId('{"id":true}', 2), null);
});
