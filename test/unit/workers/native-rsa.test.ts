// The native RSA verifier (native/rsa-verify) against node:crypto: the same answer for every
// signature, valid or hostile, through keys.ts's own seam (checkSignature); its arguments
// attacked; its per-thread life; and its switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { newKeyPairSync } from '../../../src/main/cli/key-pairs.js';
import { random } from '../../helpers/random.js';
import { checkSignature, importJwk, type SignatureCheck } from '../../../src/workers/jwt/keys.js';
import { loadNativeRsa, nativeRsa, nativeRsaCheck, type NativeRsaModule, type NativeRsaVerifier, type RsaDigest } from '../../../src/workers/jwt/native-rsa.js';

const state = nativeRsa();
const switchedOff = process.env['PORTCULLIS_NATIVE_RSA'] === 'off';

test('the native RSA verifier is built and loads (npm ci builds it), on the running Node’s OpenSSL', { skip: switchedOff }, () => {
  assert.ok(state.loaded, state.loaded ? '' : `native RSA verifier: ${state.reason}`);
  const version = process.versions.openssl;
  assert.ok(state.module.openssl.includes(version), `${state.module.openssl} is not Node's OpenSSL ${version}`);
});

function loaded(): NativeRsaModule {
  if (!state.loaded) throw new Error(`native RSA verifier: ${state.reason}`);
  return state.module;
}

interface Pair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}
const rsa2048 = newKeyPairSync({ type: 'rsa', modulusLength: 2048 });
const rsa3072 = newKeyPairSync({ type: 'rsa', modulusLength: 3072 });
const rsa4096 = newKeyPairSync({ type: 'rsa', modulusLength: 4096 });
const other2048 = newKeyPairSync({ type: 'rsa', modulusLength: 2048 });

const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
type RsaAlg = (typeof ALGS)[number];
const digestOf = (alg: RsaAlg): RsaDigest => (alg.endsWith('256') ? 'sha256' : alg.endsWith('384') ? 'sha384' : 'sha512');
const isPss = (alg: RsaAlg): boolean => alg.startsWith('PS');

function signWith(alg: RsaAlg, key: KeyObject, data: Uint8Array, saltLength: number = constants.RSA_PSS_SALTLEN_DIGEST): Buffer {
  return isPss(alg) ? sign(digestOf(alg), data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }) : sign(digestOf(alg), data, key);
}

interface Checks {
  readonly native: SignatureCheck;
  readonly node: SignatureCheck;
  /** the native verifier kept on OpenSSL's arithmetic (for RS* on an IFMA CPU, `native` is not) */
  readonly openssl: SignatureCheck;
}

/** keys.ts's checks of one key and algorithm: the one it builds (native where loaded), the same
 * with node:crypto only, and the native one without IFMA. */
function checksFor(pair: Pair, alg: RsaAlg): Checks {
  const imported = importJwk({ ...pair.publicKey.export({ format: 'jwk' }), kty: 'RSA', kid: 'k', alg });
  if (!imported.ok) throw new Error(imported.problem);
  const check = imported.key.verifiers.get(alg);
  if (check === undefined) throw new Error(`no ${alg} verifier`);
  return { native: check, node: { ...check, native: null }, openssl: { ...check, native: nativeRsaCheck(pair.publicKey, digestOf(alg), isPss(alg), false) } };
}

/** Every path agrees on `expected`. */
function agree(checks: Checks, data: Uint8Array, signature: Uint8Array, expected: boolean, what: string): void {
  assert.equal(checkSignature(checks.node, data, signature), expected, `node:crypto, ${what}`);
  assert.equal(checkSignature(checks.native, data, signature), expected, `native, ${what}`);
  assert.equal(checkSignature(checks.openssl, data, signature), expected, `native on OpenSSL's arithmetic, ${what}`);
}

const flip = (b: Uint8Array, at: number, bit = 1): Buffer => {
  const c = Buffer.from(b);
  c[at] = (c[at] ?? 0) ^ bit;
  return c;
};

test('keys.ts uses the native check for RS* and PS* keys where it loaded, and node:crypto for the rest', { skip: switchedOff }, () => {
  for (const alg of ALGS) assert.notEqual(checksFor(rsa2048, alg).native.native, null, alg);
  const ec = newKeyPairSync({ type: 'ec', namedCurve: 'P-256' });
  const imported = importJwk({ ...ec.publicKey.export({ format: 'jwk' }), kty: 'EC', kid: 'e' });
  assert.ok(imported.ok);
  if (imported.ok) assert.equal(imported.key.verifiers.get('ES256')?.native, null);
});

test('native and node:crypto agree: every RSA algorithm and key size, valid and tampered signatures', { skip: switchedOff }, () => {
  const data = Buffer.from('eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJhbGljZSJ9');
  for (const [bits, pair] of [[2048, rsa2048], [3072, rsa3072], [4096, rsa4096]] as const) {
    for (const alg of ALGS) {
      const checks = checksFor(pair, alg);
      const sig = signWith(alg, pair.privateKey, data);
      const n = sig.length;
      const at = `${alg}, ${bits} bits`;
      agree(checks, data, sig, true, `${at}: valid`);
      for (const i of [0, 1, n >> 1, n - 2, n - 1]) agree(checks, data, flip(sig, i), false, `${at}: signature byte ${i} flipped`);
      agree(checks, flip(data, 0), sig, false, `${at}: data flipped`);
      agree(checks, Buffer.concat([data, Buffer.from('.')]), sig, false, `${at}: data extended`);
      agree(checks, new Uint8Array(0), sig, false, `${at}: empty data`);
      agree(checks, data, sig.subarray(1), false, `${at}: signature a byte short`);
      agree(checks, data, Buffer.concat([Buffer.alloc(1), sig]), false, `${at}: signature with a leading zero byte`);
      agree(checks, data, Buffer.concat([sig, Buffer.alloc(1)]), false, `${at}: signature a byte long`);
      agree(checks, data, new Uint8Array(0), false, `${at}: empty signature`);
      agree(checks, data, Buffer.alloc(n), false, `${at}: all zero`);
      agree(checks, data, Buffer.alloc(n, 0xff), false, `${at}: all 0xff (above the modulus)`);
      const modulus = Buffer.from(pair.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
      agree(checks, data, modulus, false, `${at}: the modulus itself`);
      agree(checks, data, Buffer.alloc(65_536, 1), false, `${at}: 64 KB signature`);
      agree(checks, data, signWith(alg, other2048.privateKey, data), false, `${at}: another key's signature`);
      // The same key, the other padding or digest: never accepted across algorithms.
      for (const otherAlg of ALGS) {
        if (otherAlg !== alg) agree(checks, data, signWith(otherAlg, pair.privateKey, data), false, `${at}: an ${otherAlg} signature`);
      }
      if (isPss(alg)) agree(checks, data, signWith(alg, pair.privateKey, data, constants.RSA_PSS_SALTLEN_MAX_SIGN), false, `${at}: PSS salt longer than the digest`);
      agree(checks, data, sig, true, `${at}: valid again, after the failures`);
    }
  }
});

test('an RSA signature without its leading zero bytes is refused by both paths (node:crypto alone took it for PSS)', { skip: switchedOff }, () => {
  for (const alg of ['PS256', 'RS256'] as const) {
    const checks = checksFor(rsa2048, alg);
    // One signature in 256 starts with a zero byte: sign until one does.
    for (let i = 0; ; i++) {
      const data = Buffer.from(`a.${i}`);
      const sig = signWith(alg, rsa2048.privateKey, data);
      if (sig[0] !== 0) continue;
      agree(checks, data, sig, true, `${alg}: the whole signature`);
      agree(checks, data, sig.subarray(1), false, `${alg}: without its leading zero byte`);
      break;
    }
  }
});

test('native and node:crypto agree on 3,000 randomly mutated signatures and inputs, valid ones between them', { skip: switchedOff }, () => {
  const next = random(0x5eed);
  const pick = (n: number): number => Math.floor(next() * n);
  const cases = ALGS.map((alg) => {
    const data = Buffer.from(`header.payload-${alg}-${'x'.repeat(300)}`);
    return { alg, data, sig: signWith(alg, rsa2048.privateKey, data), checks: checksFor(rsa2048, alg) };
  });
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const c = cases[pick(cases.length)];
    if (c === undefined) continue;
    let data: Buffer = c.data;
    let sig: Buffer = c.sig;
    switch (pick(6)) {
      case 0:
        break; // valid: the kept context must still say yes after any failure
      case 1:
        for (let k = 1 + pick(3); k > 0; k--) sig = flip(sig, pick(sig.length), 1 << pick(8));
        break;
      case 2:
        for (let k = 1 + pick(3); k > 0; k--) data = flip(data, pick(data.length), 1 << pick(8));
        break;
      case 3:
        sig = sig.subarray(0, pick(sig.length));
        break;
      case 4:
        sig = Buffer.concat([sig.subarray(0, pick(sig.length)), Buffer.from([pick(256)]), sig.subarray(pick(sig.length))]);
        break;
      default: {
        const other = cases[pick(cases.length)];
        if (other !== undefined) sig = other.sig;
      }
    }
    const expected = checkSignature(c.checks.node, data, sig);
    if (expected) valid++;
    agree(c.checks, data, sig, expected, `case ${i} (${c.alg})`);
  }
  assert.ok(valid > 400, `only ${valid} valid cases were drawn`);
});

test('hostile arguments are refused with a TypeError, never read as bytes or as a verifier', { skip: switchedOff }, () => {
  const m = loaded();
  const pair = rsa2048;
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  const v = m.create(spki, 'sha256', false, true);
  const data = Buffer.from('a.b');
  const sig = sign('sha256', data, pair.privateKey);
  assert.equal(m.verify(v, data, sig), true);
  assert.equal(m.verify(v, new Uint8Array(data), new Uint8Array(sig)), true, 'a plain Uint8Array');
  // A view into a larger buffer: the bytes at its offset, not the buffer's start.
  const padded = Buffer.concat([Buffer.from('xxxx'), sig, Buffer.from('yy')]);
  assert.equal(m.verify(v, data, padded.subarray(4, 4 + sig.length)), true, 'a view at an offset');

  const asUnknown = (x: unknown): Uint8Array => x as Uint8Array;
  for (const bad of ['a.b', 42, null, undefined, {}, [1, 2], sig.buffer, new DataView(sig.buffer), new Uint16Array(4), new Int8Array(sig.length), new Uint8ClampedArray(sig.length)]) {
    assert.throws(() => m.verify(v, asUnknown(bad), sig), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, `data ${String(bad)}`);
    assert.throws(() => m.verify(v, data, asUnknown(bad)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, `signature ${String(bad)}`);
  }
  const notVerifiers: unknown[] = [{}, Object.create(v as object), structuredClone(v), Buffer.alloc(8), () => true, null, 1, 'v'];
  for (const bad of notVerifiers) {
    assert.throws(() => m.verify(bad as NativeRsaVerifier, data, sig), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, String(bad));
  }
  assert.ok(Object.isFrozen(v));
  // As plain JS would call them: arguments missing.
  const loose = m as unknown as { verify(...a: unknown[]): unknown; create(...a: unknown[]): unknown };
  assert.throws(() => loose.verify(v, data), { code: 'ERR_INVALID_ARG_COUNT' });
  assert.throws(() => loose.create(spki, 'sha256'), { code: 'ERR_INVALID_ARG_COUNT' });

  for (const digest of ['md5', 'sha1', 'SHA256', 'sha256\u0000x', 'sha2561234567890123', '', 7]) {
    assert.throws(() => m.create(spki, digest as RsaDigest, false, true), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }, String(digest));
  }
  assert.throws(() => m.create(spki, 'sha256', 'yes' as unknown as boolean, true), { name: 'TypeError' });
  assert.throws(() => m.create(spki, 'sha256', false, 1 as unknown as boolean), { name: 'TypeError' });
  assert.throws(() => loose.create(spki, 'sha256', false), { code: 'ERR_INVALID_ARG_COUNT' });
});

test('keys that are not 2048+ bit RSA SubjectPublicKeyInfo are refused at creation, naming why', { skip: switchedOff }, () => {
  const m = loaded();
  const spki = rsa2048.publicKey.export({ type: 'spki', format: 'der' });
  const refused = (der: Uint8Array, message: RegExp): void => assert.throws(() => m.create(der, 'sha256', false, true), { code: 'ERR_NATIVE_RSA', message });
  refused(Buffer.concat([spki, Buffer.alloc(1)]), /not a DER SubjectPublicKeyInfo/);
  refused(spki.subarray(0, spki.length - 1), /not a DER SubjectPublicKeyInfo/);
  refused(Buffer.alloc(0), /not a DER SubjectPublicKeyInfo/);
  refused(Buffer.alloc(10_000, 0x30), /not a DER SubjectPublicKeyInfo/);
  refused(Buffer.from('not der at all'), /not a DER SubjectPublicKeyInfo/);
  refused(rsa2048.publicKey.export({ type: 'pkcs1', format: 'der' }), /not a DER SubjectPublicKeyInfo/);
  refused(newKeyPairSync({ type: 'ec', namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }), /not an RSA key/);
  refused(newKeyPairSync({ type: 'ed25519' }).publicKey.export({ type: 'spki', format: 'der' }), /not an RSA key/);
  refused(newKeyPairSync({ type: 'rsa', modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }), /2048 to 16384 bits/);
});

test('a failed native check leaves nothing on OpenSSL’s error queue for node:crypto to find', { skip: switchedOff }, () => {
  const m = loaded();
  const v = m.create(rsa2048.publicKey.export({ type: 'spki', format: 'der' }), 'sha256', false, true);
  const data = Buffer.from('a.b');
  const sig = sign('sha256', data, rsa2048.privateKey);
  for (let i = 0; i < 50; i++) assert.equal(m.verify(v, data, flip(sig, i)), false);
  // node:crypto's next calls see their own outcome only.
  assert.equal(verify('sha256', data, rsa2048.publicKey, sig), true);
  assert.throws(() => createPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), (err: Error) => !/padding|rsa routines/i.test(err.message));
  assert.throws(() => m.create(Buffer.from('junk'), 'sha256', false, true), { code: 'ERR_NATIVE_RSA' });
  assert.equal(verify('sha256', data, rsa2048.publicKey, sig), true);
});

/** Runs `body` in a worker thread with `env`, where `nativeRsa` and `importJwk` are in scope;
 * resolves with the first message it posts. */
function inWorker(body: string, env: NodeJS.ProcessEnv, workerData: unknown): Promise<unknown> {
  const nativeUrl = new URL('../../../src/workers/jwt/native-rsa.js', import.meta.url).href;
  const keysUrl = new URL('../../../src/workers/jwt/keys.js', import.meta.url).href;
  const source = `const { workerData, parentPort } = require('node:worker_threads');
    Promise.all([import(${JSON.stringify(nativeUrl)}), import(${JSON.stringify(keysUrl)})]).then(([{ nativeRsa }, { importJwk }]) => { ${body} });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, env, workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
}

test('each thread loads the verifier and keeps its own contexts; a verifier sent to another thread is not one there', { skip: switchedOff }, async () => {
  const data = Buffer.from('a.b');
  const spki = rsa2048.publicKey.export({ type: 'spki', format: 'der' });
  const good = sign('sha256', data, rsa2048.privateKey);
  const body = `
    const s = nativeRsa();
    if (!s.loaded) { parentPort.postMessage('not loaded: ' + s.reason); }
    else {
      const { spki, data, good, foreign } = workerData;
      const v = s.module.create(spki, 'sha256', false, true);
      let answers = [];
      for (let i = 0; i < 200; i++) answers.push(s.module.verify(v, data, good), s.module.verify(v, data, good.map((b, j) => j === i % good.length ? b ^ 1 : b)));
      let foreignRefused = false;
      try { s.module.verify(foreign, data, good); } catch (e) { foreignRefused = e instanceof TypeError; }
      parentPort.postMessage({ yes: answers.filter((a, i) => a === (i % 2 === 0)).length, foreignRefused });
    }`;
  const v = loaded().create(spki, 'sha256', false, true);
  const run = (): Promise<unknown> => inWorker(body, process.env, { spki, data, good, foreign: v });
  const results = await Promise.all([run(), run(), run()]);
  for (const r of results) assert.deepEqual(r, { yes: 400, foreignRefused: true });
  assert.equal(loaded().verify(v, data, good), true, 'the main thread’s verifier is untouched');
});

test('PORTCULLIS_NATIVE_RSA=off leaves RSA checks to node:crypto', async () => {
  const body = `const k = importJwk(workerData.jwk);
    parentPort.postMessage({ state: nativeRsa(), native: k.ok ? k.key.verifiers.get('RS256').native : 'import failed' });`;
  const jwk = { ...rsa2048.publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256' };
  const answer = await inWorker(body, { ...process.env, PORTCULLIS_NATIVE_RSA: 'off' }, { jwk });
  assert.deepEqual(answer, { state: { loaded: false, reason: 'PORTCULLIS_NATIVE_RSA=off' }, native: null });
});

/** An addon of the verifier's shape whose `verify` calls a symbol no Node has (as a Node whose
 * OpenSSL lacked one the verifier uses); N-API declared by hand, so only a C compiler is needed. */
const MISSING_SYMBOL_ADDON = `typedef void *napi_env, *napi_value, *napi_callback_info;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
extern int napi_create_function(napi_env, const char *, unsigned long, napi_callback, void *, napi_value *);
extern int napi_set_named_property(napi_env, napi_value, const char *, napi_value);
extern int napi_create_string_utf8(napi_env, const char *, unsigned long, napi_value *);
extern int napi_get_boolean(napi_env, int, napi_value *);
extern int portcullis_test_symbol_no_node_has(void);
static napi_value call(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_get_boolean(env, portcullis_test_symbol_no_node_has() == 1, &r);
  return r;
}
__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn, s;
  napi_create_function(env, "f", 1, call, 0, &fn);
  napi_set_named_property(env, exports, "create", fn);
  napi_set_named_property(env, exports, "verify", fn);
  napi_create_string_utf8(env, "none", 4, &s);
  napi_set_named_property(env, exports, "openssl", s);
  return exports;
}
`;

test('an addon calling a symbol this Node lacks is refused at load (node:crypto checks instead), not left to end the process at its first check', { skip: process.platform === 'win32' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-nrsa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'missing.c'), MISSING_SYMBOL_ADDON);
  const addon = join(dir, 'missing.node');
  const lookup = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [];
  const cc = spawnSync(process.env['CC'] ?? 'cc', ['-shared', '-fPIC', ...lookup, '-o', addon, join(dir, 'missing.c')], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) {
    t.skip(`no C compiler to build the test addon: ${cc.error?.message ?? cc.stderr}`);
    return;
  }
  const s = loadNativeRsa(addon);
  assert.equal(s.loaded, false);
  if (!s.loaded) assert.match(s.reason, /^did not load: .*portcullis_test_symbol_no_node_has/);
});
