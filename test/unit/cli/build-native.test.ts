// scripts/build-native.mjs (npm ci's install script): where it says the native RSA verifier was
// not built, no build is left for the gateway to load, whatever an earlier run built.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../../../../scripts/build-native.mjs', import.meta.url));

test('PORTCULLIS_NATIVE_RSA=off removes an earlier build, says so and exits 0', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-build-native-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'scripts'));
  copyFileSync(script, join(root, 'scripts', 'build-native.mjs'));
  const release = join(root, 'native', 'rsa-verify', 'build', 'Release');
  mkdirSync(release, { recursive: true });
  writeFileSync(join(release, 'rsa_verify.node'), 'an earlier build');

  const run = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { env: { ...process.env, PORTCULLIS_NATIVE_RSA: 'off' }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /native RSA verifier not built \(PORTCULLIS_NATIVE_RSA=off\)/);
  assert.equal(existsSync(join(root, 'native', 'rsa-verify', 'build')), false, 'the earlier build is gone');
});
