// bufferView (src/protocol/buffer-view.ts): a Buffer over the same bytes, never a copy.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bufferView } from '../../../src/protocol/buffer-view.js';

it('views a Uint8Array in place, and gives a Buffer back as it is', () => {
  const backing = new Uint8Array([0x78, 0xc3, 0xa9, 0x79, 0x7a]);
  const part = backing.subarray(1, 4);
  const view = bufferView(part);
  assert.equal(view.toString('utf8'), 'éy');
  backing[3] = 0x21;
  assert.equal(view.toString('utf8'), 'é!');
  const buf = Buffer.from('abc');
  assert.equal(bufferView(buf), buf);
});
