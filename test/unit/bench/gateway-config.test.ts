// The bench's gateway config as the gateway reads it: the A/B tool picks each side's upstream
// client through it (`--a-upstream-client`, `--b-upstream-client`).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseAbArgs } from '../../../bench/ab-options.js';
import { gatewayConfig } from '../../../bench/fixtures.js';
import { profileCases, profileFileName } from '../../../bench/profile-run.js';
import { loadConfigText } from '../../../src/main/config/load.js';
import { tempDir } from '../../helpers/files.js';
import { makeIssuer } from '../../helpers/keys.js';
import { expectOk } from '../config/fixtures.js';

async function configOf(t: Parameters<typeof tempDir>[0], extra: Partial<Parameters<typeof gatewayConfig>[0]>) {
  const dir = await tempDir(t);
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify((await makeIssuer()).jwks));
  const text = gatewayConfig({ port: 1, stubPort: 2, jwksFile, rules: 1, ...extra });
  return expectOk(loadConfigText(text, { cwd: dir, env: {} }));
}

async function runtimeOf(t: Parameters<typeof tempDir>[0], extra: Partial<Parameters<typeof gatewayConfig>[0]>) {
  return (await configOf(t, extra)).runtime;
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

it('--profile with --pipelining: every profiled gateway reads its stub target pipelined, and the result file says so', async (t) => {
  const shape = { connections: 2, depth: 32 };
  for (const c of profileCases(shape)) {
    const config = await configOf(t, { rules: c.spec.rules, ...(c.spec.pipelining === undefined ? {} : { pipelining: c.spec.pipelining }) });
    const target = config.binds[0]?.listeners[0]?.routes[0]?.backends[0]?.targets[0];
    assert.ok(target !== undefined && target.kind === 'mcp', c.label);
    assert.deepEqual(target.policies.http?.pipelining, shape, c.label);
  }
  assert.ok(profileCases(null).every((c) => c.spec.pipelining === undefined));
  const commit = { short: 'abc1234', dirty: false };
  assert.equal(profileFileName('2026-12-07', commit, shape), '2026-12-07-abc1234-pipelined-2x32-profile.md');
  assert.equal(profileFileName('2026-12-07', commit, null), '2026-12-07-abc1234-profile.md');
});
