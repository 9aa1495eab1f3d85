// The IFMA path of the native RSA verifier (native/rsa-verify/rsa_ifma.c): its public operation
// against OpenSSL's raw one (node:crypto publicDecrypt without padding) on edge and random values
// for several key sizes and exponents, and its verdicts against node:crypto's on hand-made
// PKCS #1 v1.5 encodings, signed with the private key's raw operation. Where the CPU has no
// AVX-512 IFMA, only the first test runs: no verifier takes the path there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, generateKeyPairSync, privateEncrypt, publicDecrypt, sign, verify, type KeyObject } from 'node:crypto';
import { random } from '../../helpers/random.js';
import { nativeRsa, type NativeRsaModule, type NativeRsaVerifier, type RsaDigest } from '../../../src/workers/jwt/native-rsa.js';

const state = nativeRsa();
const ifma = state.loaded && state.module.ifma;
const noIfma = ifma ? false : 'the CPU has no AVX-512 IFMA, or the native verifier is not loaded';

function loaded(): NativeRsaModule {
  if (!state.loaded) throw new Error(`native RSA verifier: ${state.reason}`);
  return state.module;
}

interface Pair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const pairs = new Map<string, Pair>();
function pair(bits: number, e = 65537): Pair {
  const name = `${bits}/${e}`;
  let p = pairs.get(name);
  if (p === undefined) {
    p = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e });
    pairs.set(name, p);
  }
  return p;
}

const spkiOf = (p: Pair): Buffer => p.publicKey.export({ type: 'spki', format: 'der' });
const modulusOf = (p: Pair): Buffer => Buffer.from(p.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const toBytes = (x: bigint, len: number): Buffer => Buffer.from(x.toString(16).padStart(2 * len, '0'), 'hex');

test('RS256/384/512 verifiers take the IFMA path exactly where the CPU has it; PS* and vector=false never do', { skip: state.loaded ? false : 'not loaded' }, () => {
  const m = loaded();
  const p = pair(2048);
  const data = Buffer.from('a.b');
  for (const digest of ['sha256', 'sha384', 'sha512'] as const) {
    const sig = sign(digest, data, p.privateKey);
    const fast = m.create(spkiOf(p), digest, false, true);
    assert.equal(m.recover(fast, sig) !== null, ifma, `RS ${digest}`);
    assert.equal(m.verify(fast, data, sig), true);
    assert.equal(m.recover(m.create(spkiOf(p), digest, false, false), sig), null, `RS ${digest}, vector false`);
    assert.equal(m.recover(m.create(spkiOf(p), digest, true, true), sig), null, `PS ${digest}`);
  }
});

test('the public operation equals OpenSSL’s for 2048 to 4096 bits and exponents 3 to 2^32-5, on edge and random values', { skip: noIfma }, () => {
  const m = loaded();
  const next = random(0x1f3a);
  const keys: [number, number][] = [[2048, 65537], [2048, 3], [2048, 17], [2048, 4294967291], [3000, 65537], [3072, 65537], [4096, 65537], [4096, 3]];
  for (const [bits, e] of keys) {
    const p = pair(bits, e);
    const nBytes = modulusOf(p);
    const k = nBytes.length;
    const n = toBig(nBytes);
    const v = m.create(spkiOf(p), 'sha256', false, true);
    const values: bigint[] = [0n, 1n, 2n, 3n, n - 1n, n - 2n, n >> 1n, (n + 1n) >> 1n, 1n << BigInt(bits - 1), (1n << 52n) - 1n, 1n << 52n, (1n << 2048n) - 1n < n ? (1n << 2048n) - 1n : n - 3n];
    for (let i = 0; i < 150; i++) {
      let x = 0n;
      for (let j = 0; j < k + 8; j++) x = (x << 8n) | BigInt(Math.floor(next() * 256));
      // a third of them small, so the top limbs are zero
      values.push((i % 3 === 0 ? x >> BigInt(Math.floor(next() * bits)) : x) % n);
    }
    for (const x of values) {
      const s = toBytes(x, k);
      const want = publicDecrypt({ key: p.publicKey, padding: constants.RSA_NO_PADDING }, s);
      const got = m.recover(v, s);
      assert.ok(got !== null && Buffer.from(got).equals(want), `${bits} bits, e=${e}: s=${x.toString(16)}`);
    }
    // Not below the modulus, or not its length: refused, as OpenSSL refuses them.
    for (const x of [n, n + 1n, (1n << BigInt(8 * k)) - 1n]) assert.equal(m.recover(v, toBytes(x, k)), null, `${bits} bits: s=${x.toString(16)}`);
    assert.equal(m.recover(v, toBytes(1n, k - 1)), null);
    assert.equal(m.recover(v, toBytes(1n, k + 1)), null);
  }
});

// Made-up moduli (a public key needs no primes) on each side of every change in the number of
// 512-bit vectors, where R = 2^(52 * limbs) is closest to 4n, and with limbs of all ones or all
// zeros, whose carries run the length of the number.
test('the public operation equals OpenSSL’s at every vector-count boundary, on moduli of all-ones and all-zeros limbs', { skip: noIfma }, () => {
  const m = loaded();
  const next = random(0x52b0);
  const sizes = [2078, 2079, 2494, 2495, 2910, 2911, 3326, 3327, 3742, 3743, 4095];
  const limbOnes = (bits: number, every: number): bigint => {
    let x = 0n;
    for (let j = 0; 52 * j < bits; j += every) x |= ((1n << 52n) - 1n) << BigInt(52 * j);
    return x & ((1n << BigInt(bits)) - 1n);
  };
  for (const bits of sizes) {
    const top = 1n << BigInt(bits - 1);
    const k = Math.ceil(bits / 8);
    const moduli = [(1n << BigInt(bits)) - 1n, top + 1n, top | limbOnes(bits, 2) | 1n, (1n << BigInt(bits)) - (1n << 52n) + 1n];
    for (const [n, e] of moduli.flatMap((n) => [3n, 65537n, (1n << 64n) - 1n].map((e) => [n, e] as const))) {
      const key = createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: toBytes(n, k).toString('base64url'), e: toBytes(e, 8).toString('base64url') } });
      const v = m.create(key.export({ type: 'spki', format: 'der' }), 'sha256', false, true);
      const values = [0n, 1n, 2n, n - 1n, n - 2n, limbOnes(bits - 1, 1), limbOnes(bits, 2) % n, n - limbOnes(bits - 1, 3)];
      for (let j = 0; j < 4; j++) values.push(toBig(Buffer.from(Array.from({ length: k }, () => Math.floor(next() * 256)))) % n);
      for (const x of values) {
        const s = toBytes(x, k);
        const want = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, s);
        const got = m.recover(v, s);
        assert.ok(got !== null && Buffer.from(got).equals(want), `${bits} bits, n=${n.toString(16)}, e=${e}: s=${x.toString(16)}`);
      }
    }
  }
});

const DIGEST_INFO: Record<RsaDigest, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** EMSA-PKCS1-v1_5 of `data` (RFC 8017 §9.2), from its parts, so a test can spoil any one. */
function encoding(k: number, parts: { readonly head?: string; readonly pad?: number; readonly separator?: string; readonly info: string; readonly hash: Buffer }): Buffer {
  const tail = Buffer.concat([Buffer.from(parts.separator ?? '00', 'hex'), Buffer.from(parts.info, 'hex'), parts.hash]);
  const head = Buffer.from(parts.head ?? '0001', 'hex');
  return Buffer.concat([head, Buffer.alloc(k - head.length - tail.length, parts.pad ?? 0xff), tail]);
}

test('hand-made PKCS #1 v1.5 encodings: the IFMA path says what node:crypto says, for each way one can be wrong', { skip: noIfma }, () => {
  const m = loaded();
  const next = random(0x9e11);
  for (const [bits, digest] of [[2048, 'sha256'], [2048, 'sha512'], [3072, 'sha384']] as const) {
    const p = pair(bits);
    const k = modulusOf(p).length;
    const v = m.create(spkiOf(p), digest, false, true);
    const data = Buffer.from(`eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ-${digest}`);
    const hash = createHash(digest).update(data).digest();
    const info = DIGEST_INFO[digest];
    const raw = (em: Buffer): Buffer => privateEncrypt({ key: p.privateKey, padding: constants.RSA_NO_PADDING }, em);
    const withByte = (em: Buffer, at: number, value: number): Buffer => {
      const c = Buffer.from(em);
      c[at] = value;
      return c;
    };
    const good = encoding(k, { info, hash });
    const otherDigest: RsaDigest = digest === 'sha256' ? 'sha384' : 'sha256';
    const cases: [string, Buffer][] = [
      ['the right encoding', good],
      ['block type 02', encoding(k, { head: '0002', info, hash })],
      ['block type 00', encoding(k, { head: '0000', info, hash, pad: 0 })],
      ['a non-zero first byte', encoding(k, { head: '0101', info, hash })],
      ['padding of 0xfe', encoding(k, { info, hash, pad: 0xfe })],
      ['one padding byte 0xfe, first', withByte(good, 2, 0xfe)],
      ['one padding byte 0x00, in the middle', withByte(good, k >> 1, 0x00)],
      ['one padding byte 0xfe, last', withByte(good, k - hash.length - info.length / 2 - 2, 0xfe)],
      ['separator 01', encoding(k, { info, hash, separator: '01' })],
      ['no separator', encoding(k, { info, hash, separator: '' })],
      ['DigestInfo without the NULL parameters', encoding(k, { info: info.replace('3031300d', '302f300b').replace('3041300d', '303f300b').replace('3051300d', '304f300b').replace('0500', ''), hash })],
      ['the other digest’s DigestInfo with this hash', encoding(k, { info: DIGEST_INFO[otherDigest], hash })],
      ['the other digest’s DigestInfo and hash', encoding(k, { info: DIGEST_INFO[otherDigest], hash: createHash(otherDigest).update(data).digest() })],
      ['the hash with one bit flipped', encoding(k, { info, hash: withByte(hash, 5, (hash[5] ?? 0) ^ 4) })],
      ['the hash of other data', encoding(k, { info, hash: createHash(digest).update('other').digest() })],
      ['the hash a byte short', encoding(k, { info, hash: hash.subarray(1) })],
      ['the hash with a trailing byte', encoding(k, { info, hash: Buffer.concat([hash, Buffer.from([0])]) })],
      ['the DigestInfo length byte off by one', encoding(k, { info: `${info.slice(0, 2)}${(Number.parseInt(info.slice(2, 4), 16) + 1).toString(16)}${info.slice(4)}`, hash })],
    ];
    for (let i = 0; i < 40; i++) {
      const em = Buffer.alloc(k);
      for (let j = 1; j < k; j++) em[j] = Math.floor(next() * 256);
      em[1] = i % 2; // below the modulus
      cases.push([`random encoding ${i}`, em]);
      cases.push([`the right encoding with a byte after the first spoiled (${i})`, withByte(good, 1 + Math.floor(next() * (k - 1)), Math.floor(next() * 256))]);
    }
    let valid = 0;
    for (const [what, em] of cases) {
      const sig = raw(em);
      const expected = verify(digest, data, p.publicKey, sig);
      if (expected) valid++;
      assert.equal(m.verify(v, data, sig), expected, `${bits} bits ${digest}: ${what} (node:crypto: ${String(expected)})`);
    }
    assert.ok(valid >= 1 && valid < 5, `${valid} of the hand-made encodings were valid`);
  }
});

test('recover refuses what is not a verifier or not bytes, as verify does', { skip: state.loaded ? false : 'not loaded' }, () => {
  const m = loaded();
  const p = pair(2048);
  const v = m.create(spkiOf(p), 'sha256', false, true);
  const sig = sign('sha256', Buffer.from('x'), p.privateKey);
  for (const bad of [{}, null, 1, Buffer.alloc(8)] as unknown[]) {
    assert.throws(() => m.recover(bad as NativeRsaVerifier, sig), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  }
  for (const bad of ['sig', null, new Uint16Array(128), sig.buffer] as unknown[]) {
    assert.throws(() => m.recover(v, bad as Uint8Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  }
  const loose = m as unknown as { recover(...a: unknown[]): unknown };
  assert.throws(() => loose.recover(v), { code: 'ERR_INVALID_ARG_COUNT' });
  assert.equal(m.recover(v, new Uint8Array(0)), null);
});
