// The bench's gateway config as the gateway reads it: the A/B tool picks each side's upstream
// client through it (`--a-upstream-client`, `--b-upstream-client`).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseAbArgs } from '../../../bench/ab-options.js';
import { gatewayConfig } from '../../../bench/fixtures.js';
import { loadConfigText } from '../../../src/main/config/load.js';
import { tempDir } from '../../helpers/files.js';
import { makeIssuer } from '../../helpers/keys.js';
import { expectOk } from '../config/fixtures.js';

async function runtimeOf(t: Parameters<typeof tempDir>[0], extra: Partial<Parameters<typeof gatewayConfig>[0]>) {
  const dir = await tempDir(t);
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify((await makeIssuer()).jwks));
  const text = gatewayConfig({ port: 1, stubPort: 2, jwksFile, rules: 1, ...extra });
  return expectOk(loadConfigText(text, { cwd: dir, env: {} })).runtime;
}

it('the bench gateway runs on the upstream client asked for, and on the default without one', async (t) => {
  assert.equal((await runtimeOf(t, { upstreamClient: 'portcullis' })).upstreamClient, 'portcullis');
  assert.equal((await runtimeOf(t, { upstreamClient: 'undici' })).upstreamClient, 'undici');
  assert.equal((await runtimeOf(t, {})).upstreamClient, 'portcullis');
});

it('the list cache off and an upstream client together', async (t) => {
  const runtime = await runtimeOf(t, { upstreamClient: 'portcullis', listCache: false });
  assert.equal(runtime.upstreamClient, 'portcullis');
  assert.equal(runtime.listCacheBytes, 0);
});

it('ab.js takes the upstream client of each side, and refuses one it does not know', () => {
  const base = ['--a', '/tmp/a', '--b', '/tmp/b'];
  assert.deepEqual([parseAbArgs(base).aClient, parseAbArgs(base).bClient], [null, null]);
  const o = parseAbArgs([...base, '--a-upstream-client', 'undici', '--b-upstream-client', 'portcullis']);
  assert.deepEqual([o.aClient, o.bClient], ['undici', 'portcullis']);
  assert.throws(() => parseAbArgs([...base, '--b-upstream-client', 'h2']), /expected one of portcullis, undici, got h2/);
});
