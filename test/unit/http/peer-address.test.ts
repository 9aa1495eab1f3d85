// The peer address's text, remembered for the last address read: a different address after it,
// of either length, gets its own text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPeerAddress, peerAddress } from '../../../src/main/http/address.js';

const bytes = (...b: number[]): ArrayBuffer => new Uint8Array(b).buffer;

test('each address read gets its own text, the same as formatPeerAddress gives', () => {
  const v4 = bytes(10, 0, 0, 7);
  const v4b = bytes(10, 0, 0, 8);
  const v6 = bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  const mapped = bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7);
  const loopback6 = bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  const odd = bytes(1, 2, 3);
  const sequence = [v4, v4, v4b, v4, v6, v6, mapped, v4, loopback6, odd, loopback6, odd, v4];
  assert.deepEqual(
    sequence.map((a) => peerAddress(a)),
    sequence.map((a) => formatPeerAddress(a)),
  );
  assert.deepEqual([peerAddress(v6), peerAddress(mapped), peerAddress(odd)], ['2001:db8::1', '10.0.0.7', 'unknown']);
});
