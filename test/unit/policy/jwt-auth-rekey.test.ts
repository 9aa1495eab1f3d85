// The authenticator across a key change (what the gateway's rekey does: the policy engine swapped
// for one with the new keys, then keysChanged): a verification already running against the old
// keys still answers the request that started it, but neither caches its result nor answers a
// request that arrives after the change. Real inline engines, real keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineRunner } from '../../../src/main/policy-engine/runner.js';
import { createEngineRunner } from '../../../src/main/policy-engine/runners.js';
import { createJwtAuthenticator } from '../../../src/main/policy/jwt-auth.js';
import type { WorkerInit } from '../../../src/protocol/worker-contract.js';
import { PROVIDER_SET, claims, init, joseToken, keys } from '../workers/fixtures.js';

/** `init` with the ES256 key withdrawn. */
const withoutEc256: WorkerInit = {
  ...init,
  providerSets: init.providerSets.map((ps) => ({
    ...ps,
    providers: ps.providers.map((p) => ({ ...p, keys: p.keys.filter((k) => k.kid !== keys.ec256.kid) })),
  })),
};

test('a verification in flight when its key is withdrawn is not cached, and later requests do not join it', async (t) => {
  const before = await createEngineRunner(init, 0);
  const after = await createEngineRunner(withoutEc256, 0);
  t.after(() => Promise.all([before.close(), after.close()]));
  let current: EngineRunner = before;
  const auth = createJwtAuthenticator({
    mode: 'strict',
    providerSet: PROVIDER_SET,
    engine: () => current,
    counters: { count: () => undefined },
    onUnknownKid: () => Promise.resolve(false),
    keysProblem: () => null,
  });
  const token = await joseToken(keys.ec256, 'ES256', claims({ exp: Math.floor(Date.now() / 1000) + 600 }));

  const started = auth.authenticate(token);
  // The key leaves while that verification runs.
  current = after;
  auth.keysChanged(withoutEc256);
  const arrivedAfter = auth.authenticate(token);

  assert.equal((await started).kind, 'pass', 'the request that started before the change');
  const late = await arrivedAfter;
  assert.ok(late.kind === 'reject' && late.reason === 'unknown_kid', `a request after the change: ${JSON.stringify(late)}`);
  assert.equal(auth.cache.size, 0, 'nothing cached for the withdrawn key');
  assert.equal((await auth.authenticate(token)).kind, 'reject');
});

test('keysChanged keeps the tokens of keys still published', async (t) => {
  const engine = await createEngineRunner(init, 0);
  t.after(() => engine.close());
  const auth = createJwtAuthenticator({
    mode: 'strict',
    providerSet: PROVIDER_SET,
    engine: () => engine,
    counters: { count: () => undefined },
    onUnknownKid: () => Promise.resolve(false),
    keysProblem: () => null,
  });
  const exp = Math.floor(Date.now() / 1000) + 600;
  const rsa = await joseToken(keys.rsa, 'RS256', claims({ exp }));
  const ec = await joseToken(keys.ec256, 'ES256', claims({ exp }));
  assert.equal((await auth.authenticate(rsa)).kind, 'pass');
  assert.equal((await auth.authenticate(ec)).kind, 'pass');
  assert.equal(auth.cache.size, 2);
  auth.keysChanged(withoutEc256);
  assert.equal(auth.cache.size, 1);
  assert.notEqual(auth.cache.get(rsa, Date.now()), undefined, 'the RSA key is still published');
});
