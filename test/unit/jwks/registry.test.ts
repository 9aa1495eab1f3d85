// The key registry reports a remote key set as changed until the gateway has applied it. A config
// reload refetches every set before building its generation; if that build fails, the gateway
// keeps running on the old keys, so the next refresh must still see the change (it used to
// compare with the reload's fetch: "no change", and the new keys were never applied). Likewise
// when applying the change (the gateway's rekey) fails. Real JWKS server, real config loader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/main/config/load.js';
import { KeyRegistry } from '../../../src/main/jwks/key-registry.js';
import { createLogger } from '../../../src/main/log/logger.js';
import { Metrics } from '../../../src/main/ops/metrics.js';
import { startJwksServer } from '../../helpers/jwks-server.js';
import { makeIssuer } from '../../helpers/keys.js';
import { singleRouteYaml } from '../../helpers/route-yaml.js';

test('a key change fetched by a reload whose build failed, or whose rekey failed, is applied by a later refresh', async (t) => {
  const a = await makeIssuer({ kid: 'a' });
  const b = await makeIssuer({ kid: 'b' });
  const server = await startJwksServer({ keys: a.jwks.keys });
  t.after(() => server.close());
  const loaded = loadConfigText(
    singleRouteYaml('http://127.0.0.1:1/mcp', { jwtAuth: { mode: 'strict', issuer: 'https://idp.example.com', jwks: { url: server.jwksUrl } } }),
    { cwd: '/', env: {} },
  );
  assert.ok(loaded.ok);
  const providers = loaded.config.binds[0]?.listeners[0]?.routes[0]?.policies.jwtAuth?.providers ?? [];
  const provider = providers[0];
  assert.ok(provider !== undefined);

  // Each onChange (the gateway's rekey) succeeds or fails as the test says.
  const outcomes: boolean[] = [];
  let calls = 0;
  const registry = new KeyRegistry({
    logger: createLogger('text', { write: () => undefined }),
    metrics: new Metrics('test'),
    cooldownMs: 0,
    onChange: () => {
      calls++;
      return outcomes.shift() === true ? Promise.resolve() : Promise.reject(new Error('rekey failed'));
    },
  });
  t.after(() => registry.close());
  await registry.sync(loaded.config);
  assert.deepEqual(registry.keysOf(provider).map((k) => k.kid), ['a']);

  // A reload refetches (the IdP rotated meanwhile); its build then fails: nothing applied.
  server.setKeys(b.jwks.keys);
  await registry.sync(loaded.config, true);
  assert.equal(calls, 0, 'a reload applies its keys itself');

  // A token naming kid b: the refetch must report the change and have it applied.
  outcomes.push(false);
  assert.equal(await registry.refreshForUnknownKid(providers), true, 'the change the failed reload fetched');
  assert.equal(calls, 1);
  // Applying it failed too: the next refresh tries again.
  outcomes.push(true);
  assert.equal(await registry.refreshForUnknownKid(providers), true, 'still unapplied after a failed rekey');
  assert.equal(calls, 2);
  // Applied now: nothing more to do.
  assert.equal(await registry.refreshForUnknownKid(providers), false);
  assert.equal(calls, 2);
});
