// The main thread's remote JWKS: caching headers, the floor, the 24 h ceiling (no timer
// overflow), the default, a background refresh that picks up a new key, a failure that keeps the
// last good keys, and the unknown-kid refetch that runs at most once per cooldown. Against a real
// JWKS server; no sleeps: each step waits for the refresh event it expects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxAgeOf } from '../../../src/main/jwks/http-get.js';
import { createRemoteJwks, type RefreshEvent } from '../../../src/main/jwks/remote-jwks.js';
import { startJwksServer } from '../../helpers/jwks-server.js';
import { makeIssuer } from '../../helpers/keys.js';

test('cache lifetime from Cache-Control or Expires', () => {
  const now = Date.parse('2026-11-26T00:00:00Z');
  assert.equal(maxAgeOf({ 'cache-control': 'public, max-age=300' }, now), 300_000);
  assert.equal(maxAgeOf({ 'cache-control': 'no-store' }, now), 0);
  assert.equal(maxAgeOf({ expires: 'Thu, 26 Nov 2026 00:10:00 GMT' }, now), 600_000);
  assert.equal(maxAgeOf({ expires: 'Wed, 25 Nov 2026 00:00:00 GMT' }, now), 0);
  assert.equal(maxAgeOf({}, now), null);
});

/** Events as they come, awaitable one by one. */
function eventQueue(): { push(e: RefreshEvent): void; next(): Promise<RefreshEvent> } {
  const ready: RefreshEvent[] = [];
  const waiting: Array<(e: RefreshEvent) => void> = [];
  return {
    push(e) {
      const w = waiting.shift();
      if (w !== undefined) w(e);
      else ready.push(e);
    },
    next() {
      const e = ready.shift();
      return e !== undefined ? Promise.resolve(e) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

test('a background refresh at the (floored) cache lifetime picks up a rotation; a failure keeps the keys', async (t) => {
  const a = await makeIssuer({ kid: 'a' });
  const b = await makeIssuer({ kid: 'b' });
  const server = await startJwksServer({ keys: a.jwks.keys, cacheControl: 'max-age=0' });
  t.after(() => server.close());
  const events = eventQueue();
  const jwks = createRemoteJwks({ source: { url: server.jwksUrl }, minTtlMs: 50, onRefresh: (e) => events.push(e) });
  t.after(() => jwks.close());
  await jwks.start();
  assert.deepEqual((await events.next()).ok, true);
  assert.deepEqual(jwks.keys().map((k) => k.kid), ['a']);

  server.setKeys(b.jwks.keys);
  const rotated = await events.next();
  assert.ok(rotated.ok && rotated.reason === 'schedule' && rotated.changed);
  assert.deepEqual(jwks.keys().map((k) => k.kid), ['b']);

  server.failWith(503);
  const failed = await events.next();
  assert.equal(failed.ok, false);
  assert.deepEqual(jwks.keys().map((k) => k.kid), ['b'], 'the last good keys stay');
  assert.match(jwks.lastError() ?? '', /503/);
});

test('unknown-kid refetches are debounced by the cooldown', async (t) => {
  const a = await makeIssuer({ kid: 'a' });
  const server = await startJwksServer({ keys: a.jwks.keys });
  t.after(() => server.close());
  const jwks = createRemoteJwks({ source: { url: server.jwksUrl }, cooldownMs: 60_000, onRefresh: () => {} });
  t.after(() => jwks.close());
  await jwks.start();
  assert.equal(server.requestCount(), 1);
  // Within the cooldown of the start-up fetch: no request at all, however many forged kids arrive.
  const results = await Promise.all(Array.from({ length: 20 }, () => jwks.refreshForUnknownKid()));
  assert.ok(results.every((r) => r === false));
  assert.equal(server.requestCount(), 1);
  // A reload is not limited by the cooldown.
  await jwks.reload();
  assert.equal(server.requestCount(), 2);
});

test('a cache lifetime beyond what setTimeout holds (~24.8 days) waits the 24 h ceiling instead of refetching at once', async (t) => {
  const a = await makeIssuer({ kid: 'a' });
  const overflows: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.name === 'TimeoutOverflowWarning') overflows.push(w.message);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const day = 24 * 60 * 60_000;
  const started: RefreshEvent[] = [];
  // 34.7 days, and a number of seconds too large for a double (Infinity ms).
  for (const cacheControl of ['max-age=3000000', `max-age=${'9'.repeat(400)}`]) {
    const server = await startJwksServer({ keys: a.jwks.keys, cacheControl });
    t.after(() => server.close());
    const events = eventQueue();
    const jwks = createRemoteJwks({ source: { url: server.jwksUrl }, onRefresh: (e) => events.push(e) });
    t.after(() => jwks.close());
    await jwks.start();
    started.push(await events.next());
  }
  // Node warns (on the next tick) for every delay it had to cut to 1 ms.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(overflows, [], 'no timer overflowed');
  for (const e of started) {
    assert.ok(e.ok);
    assert.equal(e.nextRefreshMs, day);
  }
  // A far-future Expires is bounded alike: maxAgeOf reports it as is, the remote caps it.
  assert.ok((maxAgeOf({ expires: 'Fri, 01 Jan 2100 00:00:00 GMT' }, Date.now()) ?? 0) > 2 ** 31);
});

test('a failed refresh retries after retryMs, clamped alike', async (t) => {
  const server = await startJwksServer();
  server.failWith(503);
  t.after(() => server.close());
  const events = eventQueue();
  const jwks = createRemoteJwks({ source: { url: server.jwksUrl }, retryMs: 2 ** 40, onRefresh: (e) => events.push(e) });
  t.after(() => jwks.close());
  await jwks.start();
  const failed = await events.next();
  assert.equal(failed.ok, false);
  assert.equal(failed.nextRefreshMs, 2 ** 31 - 1);
});
