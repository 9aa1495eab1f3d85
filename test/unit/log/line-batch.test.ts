// Log lines in batches (src/main/log/line-batch.ts): nothing lost, nothing reordered, nothing
// held longer than the delay, a full batch goes out at once, and every line's bytes are its UTF-8.
// Timers are node:test's mock timers, so no test waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineBatch } from '../../../src/main/log/line-batch.js';

function recorder(): { chunks: Buffer[]; texts: () => string[] } {
  const chunks: Buffer[] = [];
  return { chunks, texts: () => chunks.map((c) => c.toString('utf8')) };
}

test('lines wait until the delay has passed, then leave together in order', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out = recorder();
  const batch = new LineBatch((chunk) => out.chunks.push(chunk), { maxBytes: 1000, maxDelayMs: 100 });
  batch.add('a\n');
  t.mock.timers.tick(60);
  batch.add('b\n');
  assert.deepEqual(out.texts(), []);
  // the delay counts from the oldest line
  t.mock.timers.tick(40);
  assert.deepEqual(out.texts(), ['a\nb\n']);
  t.mock.timers.tick(1000);
  assert.deepEqual(out.texts(), ['a\nb\n'], 'nothing more to write, no empty writes');
  batch.add('c\n');
  t.mock.timers.tick(100);
  assert.deepEqual(out.texts(), ['a\nb\n', 'c\n']);
});

test('a batch leaves once the next line would not fit, or once it is full; flush hands on the rest and cancels the timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out = recorder();
  const batch = new LineBatch((chunk) => out.chunks.push(chunk), { maxBytes: 12, maxDelayMs: 100 });
  batch.add('12345\n');
  batch.add('67890\n');
  assert.deepEqual(out.texts(), ['12345\n67890\n'], 'full: out at once');
  batch.add('abcdefgh\n');
  batch.add('xyz\n');
  assert.deepEqual(out.texts(), ['12345\n67890\n', 'abcdefgh\n'], 'the next line would not fit');
  batch.add('ab\n');
  batch.flush();
  batch.flush();
  assert.deepEqual(out.texts(), ['12345\n67890\n', 'abcdefgh\n', 'xyz\nab\n']);
  t.mock.timers.tick(500);
  assert.equal(out.chunks.length, 3);
});

test('lines are counted and written as UTF-8 bytes, a line longer than a batch goes on its own after what waited', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out = recorder();
  const batch = new LineBatch((chunk) => out.chunks.push(chunk), { maxBytes: 16, maxDelayMs: 100 });
  // 'é' is 2 bytes, '😀' 4, a lone surrogate is written as U+FFFD (3), as Buffer.from writes it
  const lines = ['é\n', '😀\n', 'x\ud800\n', 'é'.repeat(10) + '\n', 'z\n'];
  for (const line of lines) batch.add(line);
  batch.flush();
  assert.deepEqual(Buffer.concat(out.chunks), Buffer.from(lines.join(''), 'utf8'));
  for (const chunk of out.chunks) assert.ok(chunk.byteLength <= 16 || chunk.toString('utf8') === `${'é'.repeat(10)}\n`);
  assert.deepEqual(out.texts(), ['é\n😀\nx\ufffd\n', `${'é'.repeat(10)}\n`, 'z\n']);
});

test('a batch handed on is never written over by the lines after it (the writer keeps it until written)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out = recorder();
  const batch = new LineBatch((chunk) => out.chunks.push(chunk), { maxBytes: 8, maxDelayMs: 100 });
  batch.add('aaaa\n');
  batch.flush();
  batch.add('bbbb\n');
  batch.add('cccc\n');
  batch.flush();
  assert.deepEqual(out.texts(), ['aaaa\n', 'bbbb\n', 'cccc\n']);
});
