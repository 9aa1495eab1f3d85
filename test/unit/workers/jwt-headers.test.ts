// Remembered JOSE headers (decode.ts): a header segment seen before is not decoded again, and
// that must never change what any token gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { createPolicyEngine } from '../../../src/workers/engine.js';
import { decodeCompactJws, REMEMBERED_HEADERS, rememberedHeaderCount } from '../../../src/workers/jwt/decode.js';
import type { VerifyResult } from '../../../src/protocol/worker-contract.js';
import { NOW, PROVIDER_SET, b64, claims, init, keys, rawToken } from './fixtures.js';

const engine = createPolicyEngine(init);
const verify = (token: string): VerifyResult => engine.verify(PROVIDER_SET, token, NOW);

function reasonOf(result: VerifyResult): string {
  return result.ok ? 'ok' : `${result.reason}: ${result.detail}`;
}

const HEADER = { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' };

test('tokens sharing a remembered header are each answered on their own claims and signature', () => {
  const good = rawToken(HEADER, claims(), keys.rsa);
  const [h, p, s] = good.split('.');
  assert.ok(h !== undefined && p !== undefined && s !== undefined);
  assert.equal(reasonOf(verify(good)), 'ok');
  assert.equal(reasonOf(verify(good)), 'ok');
  assert.equal(reasonOf(verify(rawToken(HEADER, claims({ exp: NOW - 100 }), keys.rsa))), 'expired: token expired 100 s ago');
  assert.equal(reasonOf(verify(rawToken(HEADER, claims({ iss: 'x' }), keys.rsa))), 'bad_issuer: issuer "x" is not accepted');
  // the claims swapped under the same header and signature
  assert.equal(reasonOf(verify(`${h}.${b64(claims({ sub: 'mallory' }))}.${s}`)), 'bad_signature: signature does not verify');
  const dup = `${h}.${b64('{"sub":"a","sub":"b"}')}.${s}`;
  assert.equal(reasonOf(verify(dup)), 'malformed: token claims have a duplicate member "sub"');
  assert.equal(reasonOf(verify(`${h}.${b64('[1]')}.${s}`)), 'malformed: token payload is not a JSON object');
  // a remembered header segment does not vouch for the rest of the token's form
  for (const bad of [`${h}.${p}+.${s}`, `${h}.${p}.${s}=`, `${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}..${s}`, `${h}.${p}.${s}.`, `${h} .${p}.${s}`, h, `${h}.`]) {
    assert.equal(reasonOf(verify(bad)), 'malformed: token is not three base64url segments', bad);
  }
  const truncated = `${p}${'A'.repeat(((1 - p.length) % 4) + 4)}`;
  assert.equal(truncated.length % 4, 1);
  assert.equal(reasonOf(verify(`${h}.${truncated}.${s}`)), 'malformed: token has a truncated base64url segment');
});

test('a remembered header is the same frozen object for every token that carries its segment', () => {
  const a = decodeCompactJws(rawToken(HEADER, claims({ n: 1 }), keys.rsa));
  const b = decodeCompactJws(rawToken(HEADER, claims({ n: 2 }), keys.rsa));
  assert.ok(a.ok && b.ok);
  assert.equal(a.jws.header, b.jws.header);
  assert.ok(Object.isFrozen(a.jws.header));
  assert.deepEqual(a.jws.header, HEADER);
  assert.notEqual(a.jws.payload, b.jws.payload);
  const nested = decodeCompactJws(rawToken({ ...HEADER, x5c: ['a'], jwk: { kty: 'RSA' } }, claims(), keys.rsa));
  assert.ok(nested.ok);
  assert.ok(Object.isFrozen(nested.jws.header['x5c']) && Object.isFrozen(nested.jws.header['jwk']));
});

test('a header segment that decodes the same under another text is its own entry, and the signature covers its text', () => {
  // 3n+1 bytes: the segment's last character carries 4 bits nothing decodes
  const text = '{"alg":"RS256","kid":"rsa-1","typ":"JWT","x":"a"}';
  assert.equal(Buffer.byteLength(text) % 3, 1);
  const token = rawToken(text, claims(), keys.rsa);
  const [h, p, s] = token.split('.');
  assert.ok(h !== undefined && p !== undefined && s !== undefined);
  const last = h.at(-1) ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twin = `${h.slice(0, -1)}${alphabet[alphabet.indexOf(last) + 1] ?? ''}`;
  assert.notEqual(twin, h);
  assert.deepEqual(Buffer.from(twin, 'base64url'), Buffer.from(h, 'base64url'));

  assert.equal(reasonOf(verify(token)), 'ok');
  // the same header decoded, but not the text that was signed
  assert.equal(reasonOf(verify(`${twin}.${p}.${s}`)), 'bad_signature: signature does not verify');
  assert.equal(reasonOf(verify(token)), 'ok');
  // and the other way round: signed over the twin's text, the twin verifies and the first does not
  const twinSignature = sign('sha256', Buffer.from(`${twin}.${p}`), keys.rsa.privateKey).toString('base64url');
  assert.equal(reasonOf(verify(`${twin}.${p}.${twinSignature}`)), 'ok');
  assert.equal(reasonOf(verify(`${h}.${p}.${twinSignature}`)), 'bad_signature: signature does not verify');
  assert.equal(rememberedHeaderCount() > 0, true);
});

test('headers with a problem are never remembered, and are refused each time', () => {
  const before = rememberedHeaderCount();
  const dupHeader = `${b64('{"alg":"RS256","kid":"rsa-1","alg":"none"}')}.${b64(claims())}.`;
  for (let i = 0; i < 3; i++) assert.equal(reasonOf(verify(dupHeader)), 'malformed: token header has a duplicate member "alg"');
  const deep = `${b64(`{"alg":"RS256","kid":"rsa-1","x":${'['.repeat(200)}${']'.repeat(200)}}`)}.${b64(claims())}.`;
  for (let i = 0; i < 3; i++) assert.equal(reasonOf(verify(deep)), 'malformed: token header is nested deeper than 128 levels');
  for (let i = 0; i < 3; i++) assert.equal(reasonOf(verify(`${b64('[1]')}.${b64(claims())}.`)), 'malformed: token header is not a JSON object');
  assert.equal(rememberedHeaderCount(), before);
  // as before the header was remembered: the payload's form is checked before the header's members
  assert.equal(reasonOf(verify(`${b64('{"alg":"RS256","alg":"RS256"}')}.${b64('[1]')}.`)), 'malformed: token payload is not a JSON object');
});

test('a flood of distinct headers keeps the table bounded, and the IdP header still verifies after it', () => {
  const good = rawToken(HEADER, claims(), keys.rsa);
  assert.equal(reasonOf(verify(good)), 'ok');
  for (let i = 0; i < REMEMBERED_HEADERS * 5; i++) {
    const flood = rawToken({ ...HEADER, n: i }, claims(), keys.rsa);
    assert.equal(reasonOf(verify(flood)), 'ok');
    assert.ok(rememberedHeaderCount() <= REMEMBERED_HEADERS, `${rememberedHeaderCount()} headers remembered`);
    // a header of one kid answers for its own kid only
    assert.equal(reasonOf(verify(rawToken({ alg: 'RS256', kid: `k${i}` }, claims(), keys.rsa))), `unknown_kid: unknown key "k${i}"`);
  }
  assert.equal(reasonOf(verify(good)), 'ok');
  assert.equal(reasonOf(verify(rawToken(HEADER, claims({ sub: 'bob' }), keys.rsa))), 'ok');
  // long headers are decoded every time, not remembered
  const before = rememberedHeaderCount() % REMEMBERED_HEADERS;
  const long = rawToken({ ...HEADER, pad: 'p'.repeat(2000) }, claims(), keys.rsa);
  for (let i = 0; i < 3; i++) assert.equal(reasonOf(verify(long)), 'ok');
  assert.equal(rememberedHeaderCount() % REMEMBERED_HEADERS, before);
});
