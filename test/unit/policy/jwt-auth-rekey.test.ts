// The authenticator across a key change (what the gateway's rekey does: the policy engine swapped
// for one with the new keys, then keysChanged): a verification already running against the old
// keys still answers the request that started it, but neither caches its result nor answers a
// request that arrives after the change. Real inline engines, real keys.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { EngineRunner } from '../../../src/main/policy-engine/runner.js';
import { createEngineRunner } from '../../../src/main/policy-engine/runners.js';
import { inlineRunner } from '../../../src/main/policy-engine/runner.js';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import { createJwtAuthenticator, type JwtAuthenticator } from '../../../src/main/policy/jwt-auth.js';
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

/** The authenticator under test, strict, on whatever engine `engine` gives at each verification. */
function authenticatorOn(engine: () => EngineRunner): JwtAuthenticator {
  return createJwtAuthenticator({
    mode: 'strict',
    providerSet: PROVIDER_SET,
    engine,
    counters: { count: () => undefined },
    onUnknownKid: () => Promise.resolve(false),
    keysProblem: () => null,
  });
}

/** An inline engine on `init` that counts the verifications asked of it; signatures checked on
 * the event loop or on libuv's pool as `onLoop` says, else as the machine decides. */
async function countingEngine(t: TestContext, onLoop?: boolean): Promise<{ readonly runner: EngineRunner; readonly verified: () => number }> {
  const engine = onLoop === undefined ? await createEngineRunner(init, 0) : inlineRunner(createPolicyEngine(init), onLoop);
  t.after(() => engine.close());
  let count = 0;
  const runner: EngineRunner = {
    ...engine,
    verify: (task) => {
      count++;
      return engine.verify(task);
    },
  };
  return { runner, verified: () => count };
}

for (const onLoop of [false, true]) {
  test(`a verification in flight when its key is withdrawn is not cached, and later requests do not join it (${onLoop ? 'waiting for the turn\'s batch on the loop' : 'on the libuv pool'})`, async (t) => {
    const before = inlineRunner(createPolicyEngine(init), onLoop);
    const after = inlineRunner(createPolicyEngine(withoutEc256), onLoop);
    t.after(() => Promise.all([before.close(), after.close()]));
    let current: EngineRunner = before;
    const auth = authenticatorOn(() => current);
    const token = await joseToken(keys.ec256, 'ES256', claims({ exp: Math.floor(Date.now() / 1000) + 600 }));

    // Verified once already: the verification below is the one that would cache it.
    assert.equal((await auth.authenticate(token)).kind, 'pass');
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
}

test('keysChanged keeps the tokens of keys still published', async (t) => {
  const engine = await createEngineRunner(init, 0);
  t.after(() => engine.close());
  const auth = authenticatorOn(() => engine);
  const exp = Math.floor(Date.now() / 1000) + 600;
  const rsa = await joseToken(keys.rsa, 'RS256', claims({ exp }));
  const ec = await joseToken(keys.ec256, 'ES256', claims({ exp }));
  // each verified twice: cached at the second verification
  for (let i = 0; i < 2; i++) {
    assert.equal((await auth.authenticate(rsa)).kind, 'pass');
    assert.equal((await auth.authenticate(ec)).kind, 'pass');
  }
  assert.equal(auth.cache.size, 2);
  auth.keysChanged(withoutEc256);
  assert.equal(auth.cache.size, 1);
  assert.notEqual(auth.cache.get(rsa, Date.now()), undefined, 'the RSA key is still published');
});

test('a token is cached at its second verification: tokens used once each leave nothing in the cache', async (t) => {
  const { runner, verified } = await countingEngine(t);
  const auth = authenticatorOn(() => runner);
  const exp = Math.floor(Date.now() / 1000) + 600;
  const once = await Promise.all(Array.from({ length: 20 }, (_, i) => joseToken(keys.rsa, 'RS256', claims({ exp, jti: `once-${i}` }))));
  for (const token of once) assert.equal((await auth.authenticate(token)).kind, 'pass');
  assert.equal(auth.cache.size, 0, 'no token used once is cached');
  assert.equal(verified(), 20);

  const reused = await joseToken(keys.rsa, 'RS256', claims({ exp, jti: 'reused' }));
  for (let i = 0; i < 4; i++) assert.equal((await auth.authenticate(reused)).kind, 'pass');
  assert.equal(verified(), 22, 'verified at its first and second use, then served from the cache');
  assert.equal(auth.cache.size, 1);
});

test('concurrent first requests with one token share one verification (libuv pool); a bad token is refused each time', async (t) => {
  const { runner, verified } = await countingEngine(t, false);
  const auth = authenticatorOn(() => runner);
  const token = await joseToken(keys.rsa, 'RS256', claims({ exp: Math.floor(Date.now() / 1000) + 600, jti: 'shared' }));
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => auth.authenticate(token)));
  assert.deepEqual(outcomes.map((o) => o.kind), ['pass', 'pass', 'pass', 'pass', 'pass']);
  assert.equal(verified(), 1);
  const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(342)}`;
  for (let i = 0; i < 3; i++) {
    const o = await auth.authenticate(forged);
    assert.ok(o.kind === 'reject' && o.reason === 'bad_signature', JSON.stringify(o));
  }
  assert.equal(verified(), 4, 'a refused token is verified again each time');
});

test('with signatures checked on the event loop, a turn\'s first requests with one token share one verification; a bad token is refused each time', async (t) => {
  const { runner, verified } = await countingEngine(t, true);
  const auth = authenticatorOn(() => runner);
  const token = await joseToken(keys.rsa, 'RS256', claims({ exp: Math.floor(Date.now() / 1000) + 600, jti: 'on-loop' }));
  const outcomes = await Promise.all(Array.from({ length: 4 }, () => auth.authenticate(token)));
  assert.deepEqual(outcomes.map((o) => o.kind), ['pass', 'pass', 'pass', 'pass']);
  assert.equal(verified(), 1, 'checked once at the end of the turn, for all four');
  assert.equal((await auth.authenticate(token)).kind, 'pass');
  assert.equal(verified(), 2, 'verified again at its second use (cached then)');
  const cached = auth.authenticate(token);
  assert.ok(!(cached instanceof Promise) && cached.kind === 'pass', 'a cached token is answered at once');
  const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(342)}`;
  for (let i = 0; i < 2; i++) {
    const refused = await auth.authenticate(forged);
    assert.ok(refused.kind === 'reject' && refused.reason === 'bad_signature', JSON.stringify(refused));
  }
  assert.equal(verified(), 4, 'a refused token is verified again each time');
});

test('an unknown kid verified on the event loop still refetches the keys and verifies once more', async (t) => {
  const { runner, verified } = await countingEngine(t, true);
  let refetches = 0;
  const auth = createJwtAuthenticator({
    mode: 'strict',
    providerSet: PROVIDER_SET,
    engine: () => runner,
    counters: { count: () => undefined },
    onUnknownKid: () => {
      refetches++;
      return Promise.resolve(true);
    },
    keysProblem: () => null,
  });
  const token = await joseToken({ ...keys.rsa, kid: 'not-published' }, 'RS256', claims({ exp: Math.floor(Date.now() / 1000) + 600 }));
  const pending = auth.authenticate(token);
  assert.ok(pending instanceof Promise, 'waits for the refetch');
  const outcome = await pending;
  assert.ok(outcome.kind === 'reject' && outcome.reason === 'unknown_kid', JSON.stringify(outcome));
  assert.equal(refetches, 1);
  assert.equal(verified(), 2, 'verified again after the key set changed');
});

test('verified claims are frozen all the way down, objects inside arrays too', async (t) => {
  const engine = await createEngineRunner(init, 0);
  t.after(() => engine.close());
  const auth = authenticatorOn(() => engine);
  const token = await joseToken(keys.rsa, 'RS256', claims({ exp: Math.floor(Date.now() / 1000) + 600, roles: ['a', { team: 'red', tags: [{ x: 1 }] }], org: { id: 1 } }));
  const outcome = await auth.authenticate(token);
  assert.ok(outcome.kind === 'pass' && outcome.claims !== null, JSON.stringify(outcome));
  const walk = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null) return;
    assert.ok(Object.isFrozen(v), `${path} is frozen`);
    for (const [k, inner] of Object.entries(v)) walk(inner, `${path}.${k}`);
  };
  walk(outcome.claims, 'claims');
});
