// Reading JWKs from files the user hands the CLI: JSON.parse gives `unknown`, so every member we
// keep is checked and copied into jose's JWK shape.
import type { JWK } from 'jose';
import { isRecord } from '../../protocol/is-record.js';

/** Members that only a private (or symmetric) key has; never allowed in a published keyset. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

const STRING_MEMBERS = [
  'kty', 'kid', 'use', 'alg', 'crv', 'x', 'y', 'n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'pub', 'priv',
  'x5t', 'x5t#S256', 'x5u',
] as const;
const STRING_ARRAY_MEMBERS = ['key_ops', 'x5c'] as const;

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A checked copy of `value` as a JWK, or a message saying what is wrong with it. */
export function toJwk(value: unknown): JWK | string {
  if (!isRecord(value)) return 'not a JSON object';
  if (typeof value['kty'] !== 'string') return 'not a JWK (no "kty")';
  const jwk: JWK = {};
  for (const name of STRING_MEMBERS) {
    const member = value[name];
    if (member === undefined) continue;
    if (typeof member !== 'string') return `JWK member "${name}" is not a string`;
    jwk[name] = member;
  }
  for (const name of STRING_ARRAY_MEMBERS) {
    const member = value[name];
    if (member === undefined) continue;
    if (!isStringArray(member)) return `JWK member "${name}" is not an array of strings`;
    jwk[name] = [...member];
  }
  if (value['oth'] !== undefined) return 'multi-prime RSA keys ("oth") are not supported';
  return jwk;
}

/** Parses JSON text holding one JWK; throws an Error naming `source`. */
export function parseJwk(text: string, source: string): JWK {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not valid JSON`);
  }
  const jwk = toJwk(value);
  if (typeof jwk === 'string') throw new Error(`${source}: ${jwk}`);
  return jwk;
}

export function hasPrivateMembers(jwk: JWK): boolean {
  return PRIVATE_JWK_MEMBERS.some((name) => jwk[name] !== undefined);
}

/** The JWS algorithm a key signs with: its own `alg`, else the default for its type (as step does). */
export function signingAlg(jwk: JWK): string {
  if (jwk.alg !== undefined) return jwk.alg;
  switch (jwk.kty) {
    case 'EC':
      if (jwk.crv === 'P-256') return 'ES256';
      if (jwk.crv === 'P-384') return 'ES384';
      if (jwk.crv === 'P-521') return 'ES512';
      break;
    case 'OKP':
      if (jwk.crv === 'Ed25519') return 'EdDSA';
      break;
    case 'RSA':
      return 'RS256';
  }
  throw new Error(`cannot tell the signing algorithm of a ${jwk.kty ?? '?'} key${jwk.crv ? ` on ${jwk.crv}` : ''}; set "alg"`);
}
