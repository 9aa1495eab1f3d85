// The exchanged-token cache against a real authorization server: one IdP call for many requests,
// one for many concurrent misses, a key per subject (and per evaluated parameter), LRU bound,
// maxEntries 0, and lifetimes (expires_in, defaultTtl, the subject's exp, the 15 s margin) on
// an injected clock: no sleeps.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CacheCounts } from '../../src/protocol/worker-contract.js';
import { type UserIdp, bearerOf, credentialFor, expectGranted, expectRefused, sourceFromYaml, startUserIdp, verifiedCaller } from '../helpers/exchange-fixtures.js';
import { type TokenIdp, startTokenIdp } from '../helpers/token-idp.js';

const AUD = 'https://crm.example.com/mcp';

/** A wall clock the test moves. */
function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('exchanged-token cache', () => {
  let user: UserIdp;
  let idp: TokenIdp;
  before(async () => {
    user = await startUserIdp();
    idp = await startTokenIdp({ trust: [user.trust], expiresIn: 300 });
  });
  after(() => idp.close());
  beforeEach(() => idp.answerWith(null));

  const yaml = (extra = '') =>
    `oauthTokenExchange:\n  host: "${idp.issuer}"\n  path: /token\n  audiences: ["${AUD}"]\n` +
    `  clientAuth: {clientId: "${idp.clients.basic.clientId}", clientSecret: "${idp.clients.basic.clientSecret}"}\n${extra}`;
  const callsSince = (n: number) => idp.calls.length - n;

  it('N requests of one caller: one IdP call, the same token, hits and misses counted', async () => {
    const cacheCounts: CacheCounts = { hits: 0, misses: 0 };
    const source = sourceFromYaml(yaml(), { cacheCounts });
    assert.equal(source.cacheCounts, cacheCounts);
    const caller = verifiedCaller(await user.token('alice'));
    const start = idp.calls.length;
    const first = await credentialFor(source, caller);
    assert.equal(expectGranted(first).outcome, 'exchanged');
    for (let i = 0; i < 20; i++) {
      const again = await credentialFor(source, caller);
      assert.equal(expectGranted(again).outcome, 'cache_hit');
      assert.equal(bearerOf(again), bearerOf(first));
    }
    assert.equal(callsSince(start), 1);
    assert.deepEqual(cacheCounts, { hits: 20, misses: 1 });
  });

  it('N concurrent misses: one IdP call, all get its token', async () => {
    const source = sourceFromYaml(yaml());
    const caller = verifiedCaller(await user.token('bob'));
    const start = idp.calls.length;
    const held = idp.holdNext();
    const pending = Array.from({ length: 25 }, () => credentialFor(source, caller));
    await held.arrived;
    held.release();
    const tokens = new Set((await Promise.all(pending)).map(bearerOf));
    assert.equal(tokens.size, 1);
    assert.equal(callsSince(start), 1);
  });

  it('concurrent misses share a failure too, and the next request tries again', async () => {
    const source = sourceFromYaml(yaml());
    const caller = verifiedCaller(await user.token('carol'));
    const start = idp.calls.length;
    idp.answerWith({ status: 503, json: { error: 'temporarily_unavailable' } });
    const held = idp.holdNext();
    const pending = Array.from({ length: 10 }, () => credentialFor(source, caller));
    await held.arrived;
    held.release();
    for (const c of await Promise.all(pending)) assert.equal(expectRefused(c).status, 500);
    assert.equal(callsSince(start), 1);
    idp.answerWith(null);
    expectGranted(await credentialFor(source, caller));
    assert.equal(callsSince(start), 2);
  });

  it('a caller who gives up stops waiting; the exchange finishes for the others and is kept', async () => {
    const source = sourceFromYaml(yaml());
    const caller = verifiedCaller(await user.token('dan'));
    const start = idp.calls.length;
    const held = idp.holdNext();
    const gone = new AbortController();
    const leaving = source.credential(caller, () => gone.signal);
    const staying = credentialFor(source, caller);
    await held.arrived;
    gone.abort();
    const refusal = expectRefused(await leaving);
    assert.deepEqual([refusal.status, refusal.outcome], [500, 'aborted']);
    held.release();
    expectGranted(await staying);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'cache_hit');
    assert.equal(callsSince(start), 1);
  });

  it('each subject, and each value of an additional parameter, has its own entry', async () => {
    const source = sourceFromYaml(yaml('  additionalParams: {tenant: jwt.tid}'));
    const start = idp.calls.length;
    const alice = verifiedCaller(await user.token('alice', { tid: 'a' }));
    const aliceAgain = verifiedCaller(await user.token('alice', { tid: 'a', nonce: 1 }));
    const bob = verifiedCaller(await user.token('bob', { tid: 'a' }));
    for (const c of [alice, bob, alice, bob]) expectGranted(await credentialFor(source, c));
    assert.equal(callsSince(start), 2);
    // Another subject token (same user) is another key: the cache holds no claims, only a digest.
    expectGranted(await credentialFor(source, aliceAgain));
    assert.equal(callsSince(start), 3);
  });

  it('maxEntries bounds it, the least recently used leaving first; 0 turns it off', async () => {
    const source = sourceFromYaml(yaml('  cache: {maxEntries: 2}'));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (s) => verifiedCaller(await user.token(s))));
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    const start = idp.calls.length;
    for (const caller of [a, b, a, c]) expectGranted(await credentialFor(source, caller)); // c evicts b (a was used last)
    assert.equal(callsSince(start), 3);
    assert.equal(expectGranted(await credentialFor(source, a)).outcome, 'cache_hit');
    assert.equal(expectGranted(await credentialFor(source, b)).outcome, 'exchanged');
    assert.equal(callsSince(start), 4);

    const off = sourceFromYaml(yaml('  cache: {maxEntries: 0}'));
    assert.equal(off.cacheCounts, null);
    for (let i = 0; i < 3; i++) assert.equal(expectGranted(await credentialFor(off, a)).outcome, 'exchanged');
    assert.equal(callsSince(start), 7);
  });

  it('expires_in: served while more than 15 s remain', async () => {
    const clock = manualClock();
    idp.answerWith({ status: 200, json: { access_token: 'opaque-1', token_type: 'Bearer', expires_in: 60 } });
    const source = sourceFromYaml(yaml(), { now: clock.now });
    const caller = verifiedCaller(await user.token('erin'));
    const start = idp.calls.length;
    expectGranted(await credentialFor(source, caller));
    clock.advance(44_999);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'cache_hit');
    clock.advance(1);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'exchanged');
    assert.equal(callsSince(start), 2);
  });

  it('no expires_in: defaultTtl', async () => {
    const clock = manualClock();
    idp.answerWith({ status: 200, json: { access_token: 'opaque-2', token_type: 'Bearer' } });
    const source = sourceFromYaml(yaml('  cache: {defaultTtl: 2m}'), { now: clock.now });
    const caller = verifiedCaller(await user.token('frank'));
    expectGranted(await credentialFor(source, caller));
    clock.advance(104_999);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'cache_hit');
    clock.advance(1);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'exchanged');
  });

  it("never past the subject token's exp, and not kept when it has 15 s or less", async () => {
    const clock = manualClock();
    const source = sourceFromYaml(yaml(), { now: clock.now });
    // The IdP gives 300 s; the subject has 60 s left.
    const caller = verifiedCaller(await user.token('grace', {}, 60));
    const start = idp.calls.length;
    expectGranted(await credentialFor(source, caller));
    clock.advance(40_000);
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'cache_hit');
    clock.advance(6_000); // 14 s left on the subject
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'exchanged');
    // With 14 s left the new token is not stored: every request exchanges again.
    assert.equal(expectGranted(await credentialFor(source, caller)).outcome, 'exchanged');
    assert.equal(callsSince(start), 3);

    const nearlyExpired = verifiedCaller(await user.token('heidi', {}, 15));
    const fresh = sourceFromYaml(yaml());
    for (let i = 0; i < 2; i++) assert.equal(expectGranted(await credentialFor(fresh, nearlyExpired)).outcome, 'exchanged');
  });
});
