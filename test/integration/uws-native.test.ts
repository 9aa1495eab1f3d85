// The uWebSockets.js package silently falls back to a slow pure-JS server when its native
// binary does not load. The gateway refuses to start in that case, with a message saying why
// and how to opt in; with the opt-in it starts and says it runs on the fallback.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { glibcVersion } from '../../src/main/http/uws-binaries.js';
import { repoRoot } from '../helpers/files.js';
import { run, spawnAndWait } from '../helpers/process.js';

const ROOT = repoRoot();
const PRELOAD = join(ROOT, 'test', 'fixtures', 'no-native-uws.cjs');
const BIN = join(ROOT, 'bin', 'portcullis.js');
const OPS_OFF = { ADMIN_ADDR: '', STATS_ADDR: '', READINESS_ADDR: '' };
/** without the opt-in, whatever the test run's own environment says */
const NO_OPT_IN = { ...OPS_OFF, PORTCULLIS_ALLOW_UWS_FALLBACK: undefined };
const CONFIG = 'binds:\n- port: 0\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n          targets:\n          - name: mcp\n            mcp: { host: "http://127.0.0.1:9/mcp" }\n';

test('without the native binary the gateway refuses to start, naming the runtime, what it tried and the ways out', async () => {
  const r = await run(process.execPath, ['--require', PRELOAD, BIN, '-c', CONFIG], { env: NO_OPT_IN });
  assert.equal(r.code, 1);
  const runtime = `Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}`;
  assert.ok(r.stderr.includes(`native binary did not load on ${runtime}`), r.stderr);
  const glibc = glibcVersion();
  if (glibc !== null) assert.ok(r.stderr.includes(`, glibc ${glibc})`), r.stderr);
  // each installed package, and why its binary did not load
  assert.match(r.stderr, /- uWebSockets\.js \(@trufflesuite\/uws-js-unofficial\) 20\.30\.0-unofficial\.0: /);
  assert.match(r.stderr, /- @btc-vision\/uwebsockets\.js 20\.57\.0: /);
  assert.match(r.stderr, /simulated: native binary missing/);
  assert.match(r.stderr, /a Node version with a binary for /);
  assert.match(r.stderr, /--allow-uws-fallback or PORTCULLIS_ALLOW_UWS_FALLBACK=1/);
  assert.doesNotMatch(r.stdout + r.stderr, /started bind/);
});

test('with PORTCULLIS_ALLOW_UWS_FALLBACK=1 it starts on the fallback and warns', async () => {
  const gw = await spawnAndWait(process.execPath, ['--require', PRELOAD, BIN, '-c', CONFIG], {
    env: { ...OPS_OFF, PORTCULLIS_ALLOW_UWS_FALLBACK: '1' },
    readyLine: /started bind/,
  });
  try {
    assert.match(gw.output(), /slow pure-JS fallback/);
  } finally {
    assert.equal((await gw.stop('SIGTERM')).code, 0);
  }
});

test('--processes without the native binary stops at once, saying why, instead of restarting processes that cannot start', async () => {
  const plain = await run(process.execPath, ['--require', PRELOAD, BIN, '-c', CONFIG, '--processes', '2'], { env: NO_OPT_IN });
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /native binary did not load/);
  assert.doesNotMatch(plain.stderr, /restarting/);
  const fallback = await run(process.execPath, ['--require', PRELOAD, BIN, '-c', CONFIG, '--processes', '2'], {
    env: { ...OPS_OFF, PORTCULLIS_ALLOW_UWS_FALLBACK: '1' },
  });
  assert.equal(fallback.code, 1);
  assert.match(fallback.stderr, /--processes needs uWebSockets\.js' native binary: on the node:http fallback the processes cannot share a port/);
  assert.doesNotMatch(fallback.stderr, /restarting/);
});
