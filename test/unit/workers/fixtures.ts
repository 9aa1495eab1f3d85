// Shared fixtures for the workers tests: real keys, a WorkerInit, token builders.
import { createHmac, sign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { newKeyPairSync } from '../../../src/main/cli/key-pairs.js';
import type { PublicJwk, WorkerInit } from '../../../src/protocol/worker-contract.js';

export const NOW = 1_800_000_000;
export const ISSUER = 'acme@example.com';
export const AUDIENCE = 'mcp.example.com';
export const OTHER_ISSUER = 'https://other.example.org';

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: PublicJwk;
}

function jwkOf(publicKey: KeyObject, kid: string, extra: Record<string, string> = {}): PublicJwk {
  const exported = publicKey.export({ format: 'jwk' });
  if (typeof exported.kty !== 'string') throw new Error('no kty');
  return { ...exported, kty: exported.kty, kid, ...extra };
}

function make(kid: string, pair: { privateKey: KeyObject; publicKey: KeyObject }, extra: Record<string, string> = {}): TestKey {
  return { kid, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk: jwkOf(pair.publicKey, kid, extra) };
}

export const keys = {
  rsa: make('rsa-1', newKeyPairSync({ type: 'rsa', modulusLength: 2048 })),
  rsaPs: make('rsa-ps', newKeyPairSync({ type: 'rsa', modulusLength: 2048 }), { alg: 'PS256' }),
  ec256: make('ec-256', newKeyPairSync({ type: 'ec', namedCurve: 'P-256' })),
  ec384: make('ec-384', newKeyPairSync({ type: 'ec', namedCurve: 'P-384' })),
  ed: make('ed-1', newKeyPairSync({ type: 'ed25519' })),
  sharedA: make('shared', newKeyPairSync({ type: 'ec', namedCurve: 'P-256' })),
  sharedB: make('shared', newKeyPairSync({ type: 'ec', namedCurve: 'P-256' })),
  other: make('other-1', newKeyPairSync({ type: 'ed25519' })),
};

function withoutKid(jwk: PublicJwk): PublicJwk {
  const { kid: _kid, ...rest } = jwk;
  return rest;
}

/** Keys the engine must skip, each with a reason in `warnings`. */
export const unusableJwks: readonly PublicJwk[] = [
  { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
  withoutKid(keys.rsa.jwk),
  { ...keys.ec256.jwk, kid: 'ec-alg-mismatch', alg: 'ES384' },
  { ...keys.rsa.jwk, kid: 'rsa-hs', alg: 'HS256' },
  { ...keys.rsa.jwk, kid: 'rsa-enc', use: 'enc' },
  { ...keys.rsa.jwk, kid: 'rsa-encrypt-only', key_ops: ['encrypt'] },
  { ...jwkOf(newKeyPairSync({ type: 'ec', namedCurve: 'P-521' }).publicKey, 'ec-521') },
  { kty: 'RSA', kid: 'rsa-broken', n: 'AQAB', e: '!!' },
];

export const PROVIDER_SET = 1;
export const RULES_LAB = 10;
export const RULES_NONE = 11;

export const init: WorkerInit = {
  generation: 7,
  listCacheChars: 0,
  providerSets: [
    {
      id: PROVIDER_SET,
      requiredClaims: [],
      leewaySeconds: 60,
      providers: [
        {
          issuer: ISSUER,
          audiences: [AUDIENCE, 'second.example.com'],
          keys: [keys.rsa.jwk, keys.rsaPs.jwk, keys.ec256.jwk, keys.ec384.jwk, keys.ed.jwk, keys.sharedA.jwk, ...unusableJwks],
        },
        { issuer: OTHER_ISSUER, audiences: null, keys: [keys.sharedB.jwk, keys.other.jwk] },
      ],
    },
  ],
  ruleSets: [
    { id: RULES_LAB, rules: [{ kind: 'allow', expr: 'mcp.tool.name == "echo" && "admin" in jwt.roles' }] },
    { id: RULES_NONE, rules: [] },
  ],
};

export function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: NOW + 600, iat: NOW - 10, roles: ['admin'], ...extra };
}

/** A token signed by jose, the project's signing library. */
export async function joseToken(
  key: TestKey,
  alg: string,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A hand-built token: any header/payload text, signed RS256 with `key` or not at all. */
export function rawToken(header: unknown, payload: unknown, key?: TestKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = key === undefined ? '' : sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

/** HS256 with arbitrary bytes as the secret (the algorithm-confusion attack). */
export function hmacToken(header: unknown, payload: unknown, secret: Uint8Array): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
