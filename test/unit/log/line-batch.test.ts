// Log lines in batches (src/main/log/line-batch.ts): nothing lost, nothing reordered, nothing
// held longer than the delay, and a full batch goes out at once. Timers are node:test's mock
// timers, so no test waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineBatch } from '../../../src/main/log/line-batch.js';

test('lines wait until the delay has passed, then leave together in order', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out: string[] = [];
  const batch = new LineBatch((chunk) => out.push(chunk), { maxChars: 1000, maxDelayMs: 100 });
  batch.add('a\n');
  t.mock.timers.tick(60);
  batch.add('b\n');
  assert.deepEqual(out, []);
  // the delay counts from the oldest line
  t.mock.timers.tick(40);
  assert.deepEqual(out, ['a\nb\n']);
  t.mock.timers.tick(1000);
  assert.deepEqual(out, ['a\nb\n'], 'nothing more to write, no empty writes');
  batch.add('c\n');
  t.mock.timers.tick(100);
  assert.deepEqual(out, ['a\nb\n', 'c\n']);
});

test('a full batch leaves at once; flush hands on the rest and cancels the timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out: string[] = [];
  const batch = new LineBatch((chunk) => out.push(chunk), { maxChars: 10, maxDelayMs: 100 });
  batch.add('12345\n');
  batch.add('67890\n');
  assert.deepEqual(out, ['12345\n67890\n']);
  batch.add('x\n');
  batch.flush();
  batch.flush();
  assert.deepEqual(out, ['12345\n67890\n', 'x\n']);
  t.mock.timers.tick(500);
  assert.equal(out.length, 2);
  assert.equal(out.join(''), '12345\n67890\nx\n');
});
