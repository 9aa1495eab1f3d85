import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import { VerifyBatch } from '../../../src/main/policy-engine/verify-batch.js';
import type { VerifyTask } from '../../../src/protocol/policy-engine.js';
import type { VerifyResult } from '../../../src/protocol/worker-contract.js';
import { NOW, PROVIDER_SET, b64, claims, init, joseToken, keys } from '../workers/fixtures.js';

const engine = createPolicyEngine(init);
const verify = (task: VerifyTask): VerifyResult => engine.verify(task.providerSet, task.token, task.now);
const task = (token: string, now = NOW): VerifyTask => ({ op: 'verify', providerSet: PROVIDER_SET, token, now });

/** Tokens good and bad, each with what the engine answers for it alone. */
async function mixedTokens(count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const good = await joseToken(keys.rsa, 'RS256', claims({ sub: `user-${i}` }));
    const [h, , s] = good.split('.');
    if (i % 3 === 1) tokens.push(`${h}.${b64(claims({ sub: 'mallory' }))}.${s}`);
    else if (i % 3 === 2) tokens.push(await joseToken(keys.rsa, 'RS256', claims({ sub: `user-${i}`, exp: NOW - 3600 })));
    else tokens.push(good);
  }
  return tokens;
}

test('a turn\'s verifications run at its end and each gets its own answer', async () => {
  const tokens = await mixedTokens(9);
  const expected = tokens.map((t) => verify(task(t)));
  assert.ok(expected.some((r) => r.ok) && expected.some((r) => !r.ok && r.reason === 'bad_signature') && expected.some((r) => !r.ok && r.reason === 'expired'));
  const batch = new VerifyBatch(verify);
  let settled = 0;
  const answers = tokens.map((t) => batch.verify(task(t)).finally(() => settled++));
  await Promise.resolve();
  assert.equal(settled, 0, 'nothing is checked before the end of the turn');
  assert.deepEqual(await Promise.all(answers), expected);
});

test('past the cap, the rest wait for the next turns, in order', async () => {
  const tokens = await mixedTokens(5);
  const batch = new VerifyBatch(verify, 2);
  const order: number[] = [];
  const answers = tokens.map((t, i) =>
    batch.verify(task(t)).then((r) => {
      order.push(i);
      return r;
    }),
  );
  await nextImmediate();
  assert.deepEqual(order, [0, 1], 'the first turn checks the cap\'s worth');
  await nextImmediate();
  assert.deepEqual(order, [0, 1, 2, 3]);
  await nextImmediate();
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.deepEqual(await Promise.all(answers), tokens.map((t) => verify(task(t))));
  // Tokens that come after a carried batch join the queue behind it.
  const later = batch.verify(task(tokens[0] ?? ''));
  assert.deepEqual(await later, verify(task(tokens[0] ?? '')));
});

test('a verification that throws rejects its own request only', async () => {
  const tokens = await mixedTokens(3);
  const batch = new VerifyBatch(verify);
  // An implausible `now` is a caller bug the engine throws on.
  const answers = [batch.verify(task(tokens[0] ?? '')), batch.verify(task(tokens[0] ?? '', Date.now())), batch.verify(task(tokens[1] ?? ''))];
  const [first, thrown, last] = await Promise.allSettled(answers);
  assert.deepEqual(first, { status: 'fulfilled', value: verify(task(tokens[0] ?? '')) });
  assert.equal(thrown?.status, 'rejected');
  assert.ok(thrown?.status === 'rejected' && thrown.reason instanceof RangeError);
  assert.deepEqual(last, { status: 'fulfilled', value: verify(task(tokens[1] ?? '')) });
});

test('the cap is a positive integer', () => {
  for (const cap of [0, -1, 1.5, Number.NaN]) assert.throws(() => new VerifyBatch(verify, cap), RangeError);
});
