// The fallback front hands the gateway the peer address as uWS does, as bytes; node:net gives
// it as text. Formatted back (as the access log and CEL's source.address do), it reads as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPeerAddress } from '../../../src/main/http/address.js';
import { addressBytes } from '../../../src/main/http/node-front.js';

test('node:net addresses become the bytes uWS would give, and format back the same', () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ['127.0.0.1', '127.0.0.1', 4],
    ['::ffff:127.0.0.1', '127.0.0.1', 16],
    ['::1', '::1', 16],
    ['::', '::', 16],
    ['2001:db8::1', '2001:db8::1', 16],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 16],
    ['fe80::1%eth0', 'fe80::1', 16],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', 16],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 16],
  ];
  for (const [text, formatted, length] of cases) {
    const bytes = addressBytes(text);
    assert.equal(bytes.byteLength, length, text);
    assert.equal(formatPeerAddress(bytes), formatted, text);
  }
  assert.equal(addressBytes('not an address').byteLength, 0);
  assert.equal(formatPeerAddress(addressBytes('')), 'unknown');
});
