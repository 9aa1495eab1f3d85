// The loader tries each installed package's uWebSockets.js binary for the running Node ABI,
// platform and architecture, takes the first that loads, and otherwise refuses with the runtime,
// what it tried and the ways out. The attempts are real: real packages, real binaries, real
// dlopen failures (a binary for another architecture, a glibc too old), on whatever runtime runs
// the suite; only the order of packages and the runtime asked about are chosen by the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBinary, refusalMessage } from '../../../src/main/http/uws.js';
import { currentRuntime, findNative, glibcOlderThan, glibcVersion, UWS_PACKAGES, type UwsPackage } from '../../../src/main/http/uws-binaries.js';

const runtime = currentRuntime();
const glibc = glibcVersion();
const [TRUFFLE, BTC] = UWS_PACKAGES as [UwsPackage, UwsPackage];
/** the running C library is too old for a package's Linux binaries */
const tooOld = (pkg: UwsPackage): boolean => glibc !== null && glibcOlderThan(glibc, pkg.linuxGlibc);

test('on this runtime the first package whose binary loads is taken, and the attempts before it say why they did not', () => {
  const found = findNative(UWS_PACKAGES, runtime, loadBinary);
  const [first, second] = found.tried;
  assert.ok(first !== undefined);
  assert.match(first.label, /^uWebSockets\.js \(@trufflesuite\/uws-js-unofficial\) 20\.30\.0-unofficial\.0$/);
  if (first.abis.includes(runtime.abi)) {
    // Node 20: the build the gateway was measured on
    assert.equal(first.error, null);
    assert.ok(found.module !== null && typeof found.module.App === 'function');
    assert.equal(found.tried.length, 1);
    return;
  }
  assert.equal(first.error, `no binary for ${runtime.platform}-${runtime.arch} ABI ${runtime.abi}`);
  assert.ok(second !== undefined);
  assert.match(second.label, /^@btc-vision\/uwebsockets\.js 20\.57\.0$/);
  if (!second.abis.includes(runtime.abi)) assert.equal(found.module, null);
  else if (tooOld(BTC)) {
    // Node 22/24 on glibc < 2.38: dlopen names the symbol version it misses
    assert.equal(found.module, null);
    assert.match(second.error ?? '', /GLIBC_2\.38' not found/);
  } else {
    assert.equal(second.error, null);
    assert.ok(found.module !== null && typeof found.module.App === 'function');
  }
});

test('a binary that fails to load is passed over for the next package', () => {
  // Reversed, on Node 20: the btc-vision binary is tried first. Where glibc is too old for it,
  // dlopen refuses it and the trufflesuite one is taken.
  const found = findNative([BTC, TRUFFLE], runtime, loadBinary);
  const [first, second] = found.tried;
  assert.ok(first !== undefined);
  if (first.error === null) return; // it loaded: nothing was passed over here
  if (first.abis.includes(runtime.abi) && tooOld(BTC)) assert.match(first.error, /GLIBC_2\.38' not found/);
  assert.ok(second !== undefined);
  assert.equal(found.module !== null, second.error === null);
  if (runtime.abi === '115') assert.equal(second.error, null);
});

test('binaries for another architecture do not load; the refusal names each error', () => {
  const other = runtime.arch === 'x64' ? 'arm64' : 'x64';
  const asked = { ...runtime, arch: other, abi: '115' };
  const found = findNative(UWS_PACKAGES, asked, loadBinary);
  assert.equal(found.module, null);
  assert.equal(found.tried.length, 2);
  for (const a of found.tried) {
    assert.ok(a.path?.endsWith(`uws_${runtime.platform}_${other}_115.node`), a.path ?? 'no path');
    assert.ok(a.error !== null && a.error.length > 0);
  }
  const message = refusalMessage(asked, glibc, found.tried);
  for (const a of found.tried) assert.ok(a.error !== null && message.includes(a.error), message);
});

test('an ABI no package has: refused with the Node version, ABI, glibc, what was tried and the ways out', () => {
  const asked = { ...runtime, node: 'v99.0.0', abi: '999' };
  const found = findNative(UWS_PACKAGES, asked, loadBinary);
  assert.equal(found.module, null);
  const message = refusalMessage(asked, '2.36', found.tried);
  const lines = message.split('\n');
  assert.equal(lines[0], `uWebSockets.js native binary did not load on Node v99.0.0 (ABI 999, ${runtime.platform}-${runtime.arch}, glibc 2.36). Tried:`);
  assert.equal(lines[1], `  - uWebSockets.js (@trufflesuite/uws-js-unofficial) 20.30.0-unofficial.0: no binary for ${runtime.platform}-${runtime.arch} ABI 999`);
  assert.equal(lines[2], `  - @btc-vision/uwebsockets.js 20.57.0: no binary for ${runtime.platform}-${runtime.arch} ABI 999`);
  assert.equal(lines[3], 'Portcullis refuses to run on a slow fallback unless asked to. Ways out:');
  if (runtime.platform === 'linux' && (runtime.arch === 'x64' || runtime.arch === 'arm64')) {
    assert.equal(lines[4], `  - a Node version with a binary for linux-${runtime.arch}: Node 20 (uWebSockets.js, glibc ≥ 2.27); Node 20, 22, 24, 25 (@btc-vision/uwebsockets.js, glibc ≥ 2.38)`);
  }
  assert.equal(lines.at(-1), '  - --allow-uws-fallback or PORTCULLIS_ALLOW_UWS_FALLBACK=1 to run on the slower node:http front');
  assert.doesNotMatch(message, /a system with glibc/); // no package has ABI 999: a newer glibc would not help
});

test('Node 22 on glibc 2.36: the ways out include a newer glibc, for the package that has the binary', () => {
  const asked = { node: 'v22.23.5', abi: '127', platform: 'linux', arch: 'x64' };
  const tried = findNative(UWS_PACKAGES, asked, () => {
    throw new Error("version `GLIBC_2.38' not found");
  }).tried;
  const message = refusalMessage(asked, '2.36', tried);
  assert.match(message, /Node v22\.23\.5 \(ABI 127, linux-x64, glibc 2\.36\)/);
  assert.match(message, /- @btc-vision\/uwebsockets\.js 20\.57\.0: .*uws_linux_x64_127\.node: version `GLIBC_2\.38' not found/);
  assert.match(message, /- a system with glibc ≥ 2\.38 \(for @btc-vision\/uwebsockets\.js\)/);
  assert.doesNotMatch(refusalMessage({ ...asked, platform: 'darwin' }, null, tried), /glibc/);
});

test("a package's load-time environment is set only while its binary loads, and an operator's own value is kept", () => {
  const name = 'PORTCULLIS_TEST_LOAD_ENV';
  const pkg: UwsPackage = { ...TRUFFLE, loadEnv: [[name, '131072']] };
  const during: Array<string | undefined> = [];
  const load = (): object => {
    during.push(process.env[name]);
    return {};
  };
  const asked = { ...runtime, platform: 'linux', arch: 'x64', abi: '115' };
  findNative([pkg], asked, load);
  assert.deepEqual(during, ['131072']);
  assert.equal(process.env[name], undefined);
  process.env[name] = '8192';
  try {
    findNative([pkg], asked, load);
    assert.deepEqual(during, ['131072', '8192']);
    assert.equal(process.env[name], '8192');
  } finally {
    delete process.env[name];
  }
});

test('a package that is not installed is named as such', () => {
  const found = findNative([{ ...TRUFFLE, name: 'portcullis-no-such-uws-package' }], runtime, loadBinary);
  assert.deepEqual(
    found.tried.map((a) => [a.label, a.error]),
    [['portcullis-no-such-uws-package', 'not installed']],
  );
});
