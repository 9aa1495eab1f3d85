import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import { inlineRunner, signaturesOnLoop } from '../../../src/main/policy-engine/runner.js';
import { NOW, PROVIDER_SET, b64, claims, init, joseToken, keys } from '../workers/fixtures.js';

test('signatures are checked on the event loop exactly when the process has one CPU to run on', () => {
  assert.equal(signaturesOnLoop(), availableParallelism() === 1);
});

test('the runner answers the same whether the signature is checked on the loop or on the libuv pool', async () => {
  const engine = createPolicyEngine(init);
  const good = await joseToken(keys.rsa, 'RS256');
  const [h, , s] = good.split('.');
  const forged = `${h}.${b64(claims({ sub: 'mallory' }))}.${s}`;
  for (const token of [good, forged, await joseToken(keys.ec256, 'ES256'), 'not.a.token']) {
    const expected = engine.verify(PROVIDER_SET, token, NOW);
    for (const onLoop of [true, false]) {
      const runner = inlineRunner(engine, onLoop);
      assert.deepEqual(await runner.verify({ op: 'verify', providerSet: PROVIDER_SET, token, now: NOW }), expected, `on loop: ${onLoop}`);
    }
  }
  assert.equal(engine.verify(PROVIDER_SET, good, NOW).ok, true);
  assert.equal(engine.verify(PROVIDER_SET, forged, NOW).ok, false);
});
