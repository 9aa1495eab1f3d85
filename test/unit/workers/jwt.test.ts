import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import type { ReasonCode, VerifyResult } from '../../../src/protocol/worker-contract.js';
import {
  AUDIENCE,
  ISSUER,
  NOW,
  OTHER_ISSUER,
  PROVIDER_SET,
  b64,
  claims,
  hmacToken,
  init,
  joseToken,
  keys,
  rawToken,
} from './fixtures.js';

const engine = createPolicyEngine(init);
/** Every token verified below, with its answer: the main thread's path (signature math on the
 * libuv pool) must give the same answers, checked at the end. */
const answered: Array<{ readonly token: string; readonly now: number; readonly result: VerifyResult }> = [];
const verify = (token: string, now = NOW): VerifyResult => {
  const result = engine.verify(PROVIDER_SET, token, now);
  answered.push({ token, now, result });
  return result;
};

const reasonsSeen = new Set<ReasonCode>();

/** Asserts a refusal and that its detail leaks no part of the token. */
function refused(token: string, reason: ReasonCode, now = NOW): string {
  const result = verify(token, now);
  reasonsSeen.add(reason);
  assert.equal(result.ok, false, `expected ${reason}, got ok`);
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.reason, reason, result.detail);
  for (const part of token.split('.')) {
    if (part.length > 8) assert.ok(!result.detail.includes(part), `detail leaks token: ${result.detail}`);
  }
  assert.ok(result.detail.length < 200);
  return result.detail;
}

function accepted(token: string, now = NOW): Extract<VerifyResult, { ok: true }> {
  const result = verify(token, now);
  if (!result.ok) assert.fail(`expected ok, got ${result.reason}: ${result.detail}`);
  return result;
}

test('accepts RS256, PS256, ES256, ES384 and EdDSA tokens signed by jose', async () => {
  const ok = accepted(await joseToken(keys.rsa, 'RS256'));
  assert.equal(ok.issuer, ISSUER);
  assert.equal(ok.kid, 'rsa-1');
  assert.equal(ok.exp, NOW + 600);
  assert.deepEqual(ok.claims['roles'], ['admin']);
  accepted(await joseToken(keys.rsa, 'RS384'));
  accepted(await joseToken(keys.rsa, 'RS512'));
  accepted(await joseToken(keys.rsa, 'PS256'));
  accepted(await joseToken(keys.rsa, 'PS512'));
  accepted(await joseToken(keys.rsaPs, 'PS256'));
  accepted(await joseToken(keys.ec256, 'ES256'));
  accepted(await joseToken(keys.ec384, 'ES384'));
  accepted(await joseToken(keys.ed, 'EdDSA'));
});

test('accepts typ JWT, at+jwt and application/at+jwt in any case; refuses others', async () => {
  for (const typ of ['JWT', 'jwt', 'at+jwt', 'application/at+JWT']) accepted(await joseToken(keys.ec256, 'ES256', claims(), { typ }));
  refused(await joseToken(keys.ec256, 'ES256', claims(), { typ: 'JOSE' }), 'malformed');
  refused(rawToken({ alg: 'RS256', kid: 'rsa-1', typ: 1 }, claims(), keys.rsa), 'malformed');
});

test('alg none is never accepted', () => {
  refused(rawToken({ alg: 'none', kid: 'rsa-1' }, claims()), 'alg_not_allowed');
  refused(rawToken({ alg: 'NONE', kid: 'rsa-1' }, claims()), 'alg_not_allowed');
});

test('HS256 signed with the RSA public key as HMAC secret is refused (algorithm confusion)', () => {
  const header = { alg: 'HS256', kid: 'rsa-1' };
  const pem = keys.rsa.publicKey.export({ format: 'pem', type: 'spki' });
  refused(hmacToken(header, claims(), Buffer.from(pem)), 'alg_not_allowed');
  refused(hmacToken(header, claims(), Buffer.from(JSON.stringify(keys.rsa.jwk))), 'alg_not_allowed');
  refused(hmacToken({ alg: 'HS512', kid: 'rsa-1' }, claims(), Buffer.from(pem)), 'alg_not_allowed');
});

test('the JWK alg restricts the key: RS256 against a PS256 key is refused', async () => {
  const detail = refused(await joseToken(keys.rsaPs, 'RS256'), 'alg_not_allowed');
  assert.match(detail, /"RS256".*"rsa-ps"/);
  // an EC P-384 key verifies ES384 only, an Ed25519 key EdDSA only
  refused(rawToken({ alg: 'ES256', kid: 'ec-384' }, claims(), keys.ec384), 'alg_not_allowed');
  refused(rawToken({ alg: 'RS256', kid: 'ed-1' }, claims(), keys.rsa), 'alg_not_allowed');
  // unknown and unsupported algorithms
  refused(rawToken({ alg: 'ES512', kid: 'ec-256' }, claims()), 'alg_not_allowed');
  refused(rawToken({ alg: 'whatever', kid: 'ec-256' }, claims()), 'alg_not_allowed');
});

test('header problems: alg not a string, crit, kid missing or not a string', () => {
  refused(rawToken({ kid: 'rsa-1' }, claims(), keys.rsa), 'malformed');
  refused(rawToken({ alg: 256, kid: 'rsa-1' }, claims(), keys.rsa), 'malformed');
  refused(rawToken({ alg: 'RS256', kid: 'rsa-1', crit: ['exp'] }, claims(), keys.rsa), 'malformed');
  refused(rawToken({ alg: 'RS256' }, claims(), keys.rsa), 'missing_kid');
  refused(rawToken({ alg: 'RS256', kid: 7 }, claims(), keys.rsa), 'missing_kid');
});

test('unknown kid', () => {
  const detail = refused(rawToken({ alg: 'RS256', kid: 'abc' }, claims(), keys.rsa), 'unknown_kid');
  assert.equal(detail, 'unknown key "abc"');
  // an attacker-chosen kid is bounded and escaped in the detail
  const long = refused(rawToken({ alg: 'RS256', kid: `x\n${'k'.repeat(500)}` }, claims(), keys.rsa), 'unknown_kid');
  assert.ok(!long.includes('\n') && long.length < 100, long);
  // keys the engine could not use are unknown too
  for (const kid of ['hmac', 'rsa-hs', 'rsa-enc', 'rsa-encrypt-only', 'ec-521', 'ec-alg-mismatch', 'rsa-broken']) {
    refused(rawToken({ alg: 'RS256', kid }, claims(), keys.rsa), 'unknown_kid');
  }
});

test('unusable keys are reported in warnings, not thrown', () => {
  const text = engine.warnings.join('\n');
  for (const what of ['symmetric', 'no "kid"', 'ES384', 'HS256', 'not a signing key', '"rsa-encrypt-only" does not allow "verify" in key_ops', 'P-521', '"rsa-broken" is an RSA key of 17 bits']) {
    assert.ok(text.includes(what), `warnings lack ${what}:\n${text}`);
  }
  assert.equal(engine.warnings.length, 8);
});

test('bad signatures', async () => {
  const good = await joseToken(keys.rsa, 'RS256');
  const [h, p, s] = good.split('.');
  assert.ok(h !== undefined && p !== undefined && s !== undefined);
  const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
  refused(`${h}.${p}.${flipped}`, 'bad_signature');
  refused(`${h}.${p}.`, 'bad_signature');
  refused(`${h}.${b64(claims({ sub: 'mallory' }))}.${s}`, 'bad_signature');
  // signed by another key under this kid
  refused(await joseToken({ ...keys.ed, privateKey: keys.other.privateKey }, 'EdDSA'), 'bad_signature');
  // ECDSA in DER instead of IEEE P1363, and of the wrong length
  const es = await joseToken(keys.ec256, 'ES256');
  const [eh, ep] = es.split('.');
  refused(`${eh}.${ep}.${Buffer.alloc(70, 1).toString('base64url')}`, 'bad_signature');
  refused(`${eh}.${ep}.${Buffer.alloc(64, 0).toString('base64url')}`, 'bad_signature');
});

test('malformed tokens: segments, base64url, JSON, size', async () => {
  const good = await joseToken(keys.ec256, 'ES256');
  const [h, p, s] = good.split('.');
  refused(`${h}.${p}`, 'malformed');
  refused(`${h}.${p}.${s}.${s}`, 'malformed');
  refused(`${h}..${s}`, 'malformed');
  refused('', 'malformed');
  refused(`${h}.${p}.${s}=`, 'malformed');
  refused(`${h}.${p}+.${s}`, 'malformed');
  refused(`${h}.${p}/.${s}`, 'malformed');
  refused(`${h} .${p}.${s}`, 'malformed');
  refused(`${h}.${p}AAAAA.${s}`, 'malformed'); // 4n+1 characters cannot be whole bytes
  refused(`${b64('not json')}.${p}.${s}`, 'malformed');
  refused(`${b64([1, 2])}.${p}.${s}`, 'malformed');
  refused(`${b64('null')}.${p}.${s}`, 'malformed');
  refused(`${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.${p}.${s}`, 'malformed');
  refused(rawToken({ alg: 'RS256', kid: 'rsa-1' }, '"a string"', keys.rsa), 'malformed');
  refused(rawToken({ alg: 'RS256', kid: 'rsa-1' }, 'not json', keys.rsa), 'malformed');
});

test('16 KiB is the largest token accepted', () => {
  // `k` in the header shifts the length by one character where the payload alone cannot.
  const tokenWith = (pad: number, k = ''): string =>
    rawToken({ alg: 'RS256', kid: 'rsa-1', k }, claims({ pad: 'x'.repeat(pad) }), keys.rsa);
  let atLimit = '';
  for (let k = 0; k < 4 && atLimit.length !== 16384; k++) {
    let pad = Math.floor(((16384 - tokenWith(0).length) * 3) / 4) - 8;
    while (tokenWith(pad, 'k'.repeat(k)).length < 16384) pad++;
    atLimit = tokenWith(pad, 'k'.repeat(k));
  }
  assert.equal(atLimit.length, 16384);
  accepted(atLimit);
  const [h, p, s] = atLimit.split('.');
  assert.match(refused(`${h}.${p}.${s}A`, 'malformed'), /longer than/); // 16385 characters
  assert.match(refused(tokenWith(100_000), 'malformed'), /longer than 16384/);
});

test('claims: exp required, types checked', () => {
  const t = (payload: Record<string, unknown>): string => rawToken({ alg: 'RS256', kid: 'rsa-1' }, payload, keys.rsa);
  const { exp: _exp, ...noExp } = claims();
  refused(t(noExp), 'missing_exp');
  refused(t(claims({ exp: String(NOW + 600) })), 'bad_claim_type');
  refused(t(claims({ exp: null })), 'bad_claim_type');
  refused(t(claims({ nbf: 'yesterday' })), 'bad_claim_type');
  refused(t(claims({ iat: [NOW] })), 'bad_claim_type');
  refused(t(claims({ iss: 42 })), 'bad_claim_type');
  refused(t(claims({ sub: { id: 1 } })), 'bad_claim_type');
  refused(t(claims({ aud: 1 })), 'bad_claim_type');
  refused(t(claims({ aud: [AUDIENCE, 1] })), 'bad_claim_type');
  accepted(t(claims({ exp: NOW + 0.5, nbf: NOW - 0.25 })));
});

test('leeway of 60 s on exp and nbf', () => {
  const t = (extra: Record<string, unknown>): string => rawToken({ alg: 'RS256', kid: 'rsa-1' }, claims(extra), keys.rsa);
  accepted(t({ exp: NOW - 59 }));
  accepted(t({ exp: NOW - 60 }));
  assert.equal(refused(t({ exp: NOW - 61 }), 'expired'), 'token expired 61 s ago');
  assert.equal(refused(t({ exp: NOW - 120 }), 'expired'), 'token expired 120 s ago');
  accepted(t({ nbf: NOW + 59 }));
  accepted(t({ nbf: NOW + 60 }));
  refused(t({ nbf: NOW + 61 }), 'not_yet_valid');
  // `now` comes from the task
  refused(t({}), 'expired', NOW + 661);
  accepted(t({}), NOW + 659);
});

test('issuer and audience', () => {
  const t = (payload: Record<string, unknown>, key = keys.rsa): string => rawToken({ alg: 'RS256', kid: key.kid }, payload, key);
  const { iss: _iss, ...noIss } = claims();
  refused(t(noIss), 'bad_issuer');
  assert.equal(refused(t(claims({ iss: 'x' })), 'bad_issuer'), 'issuer "x" is not accepted');
  const { aud: _aud, ...noAud } = claims();
  refused(t(noAud), 'bad_audience');
  refused(t(claims({ aud: 'elsewhere' })), 'bad_audience');
  refused(t(claims({ aud: [] })), 'bad_audience');
  refused(t(claims({ aud: ['a', 'b'] })), 'bad_audience');
  accepted(t(claims({ aud: ['a', 'second.example.com'] })));
  accepted(t(claims({ aud: [AUDIENCE] })));
});

test('several providers: key found by kid, shared kid chosen by iss', async () => {
  // other-1 belongs to the second provider only (no audience check there)
  const { aud: _aud, ...noAud } = claims({ iss: OTHER_ISSUER });
  assert.equal(accepted(await joseToken(keys.other, 'EdDSA', noAud)).issuer, OTHER_ISSUER);
  refused(await joseToken(keys.other, 'EdDSA', claims()), 'bad_issuer');
  // kid "shared" is held by both providers with different keys
  assert.equal(accepted(await joseToken(keys.sharedA, 'ES256', claims())).issuer, ISSUER);
  assert.equal(accepted(await joseToken(keys.sharedB, 'ES256', noAud)).issuer, OTHER_ISSUER);
  // claiming the other issuer selects the other key, whose signature then fails
  refused(await joseToken(keys.sharedA, 'ES256', noAud), 'bad_signature');
  refused(await joseToken(keys.sharedB, 'ES256', claims()), 'bad_signature');
  // no iss: the first provider's key is used
  const { iss: _iss, ...noIss } = claims();
  refused(await joseToken(keys.sharedA, 'ES256', noIss), 'bad_issuer');
});

test('every ReasonCode was produced above', () => {
  const all: readonly ReasonCode[] = [
    'malformed', 'missing_kid', 'unknown_kid', 'alg_not_allowed', 'bad_signature', 'expired',
    'not_yet_valid', 'missing_exp', 'bad_issuer', 'bad_audience', 'bad_claim_type',
  ];
  assert.deepEqual([...reasonsSeen].sort(), [...all].sort());
});

test('verifyAsync (signature on the libuv pool) answers every token above as verify does', async () => {
  assert.ok(answered.length > 40, `only ${answered.length} tokens seen`);
  for (const { token, now, result } of answered) {
    assert.deepEqual(await engine.verifyAsync({ op: 'verify', providerSet: PROVIDER_SET, token, now }), result, token.slice(0, 60));
  }
});

test('programmer errors throw: unknown provider set, `now` in ms or NaN, bad leeway', () => {
  assert.throws(() => engine.verify(99, 'a.b.c', NOW), RangeError);
  assert.throws(() => engine.verify(PROVIDER_SET, 'a.b.c', NOW * 1000), RangeError);
  assert.throws(() => engine.verify(PROVIDER_SET, 'a.b.c', Number.NaN), RangeError);
  assert.throws(
    () => createPolicyEngine({ generation: 1, listCacheChars: 0, ruleSets: [], providerSets: [{ id: 1, requiredClaims: [], leewaySeconds: Number.NaN, providers: [] }] }),
    RangeError,
  );
});

test('a required claim is one the token carries itself: names of Object.prototype members are not satisfied by it', async () => {
  const withRequired = createPolicyEngine({ ...init, providerSets: init.providerSets.map((s) => ({ ...s, requiredClaims: ['constructor', 'toString'] })) });
  const token = await joseToken(keys.rsa, 'RS256');
  const result = withRequired.verify(PROVIDER_SET, token, NOW);
  assert.equal(result.ok, false);
  assert.equal(result.ok ? '' : result.reason, 'missing_claim');
  const carried = await joseToken(keys.rsa, 'RS256', claims({ constructor: 'x', toString: 'y' }));
  assert.equal(withRequired.verify(PROVIDER_SET, carried, NOW).ok, true);
});
