// Token issuers for tests: a real key pair (made by the CLI's createKeyPair) and a signer that
// also produces the hostile tokens a gateway must refuse (alg none, HS256 keyed with the public
// key, arbitrary headers and payloads).
import { createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { createKeyPair, type KeyAlg } from '../../src/main/cli/keys.js';
import { signingAlg } from '../../src/main/cli/jwk.js';

export interface Issuer {
  readonly alg: KeyAlg;
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  /** `{ keys: [publicJwk] }`, ready to write as a jwks file or serve */
  readonly jwks: { readonly keys: JWK[] };
  /**
   * Signs exactly `claims` (nothing added: no iat, no exp). The header is
   * `{ alg, kid, typ: 'JWT' }` with `header` merged over it (e.g. `{ kid: 'other' }`;
   * `{ kid: undefined }` drops the kid).
   */
  sign(claims: Readonly<Record<string, unknown>>, header?: Readonly<Record<string, unknown>>): Promise<string>;
}

export async function makeIssuer(opts: { readonly alg?: KeyAlg; readonly kid?: string } = {}): Promise<Issuer> {
  const alg = opts.alg ?? 'ES256';
  const pair = await createKeyPair({ alg });
  const kid = opts.kid ?? pair.publicJwk.kid ?? '';
  const privateJwk: JWK = { ...pair.privateJwk, kid };
  const publicJwk: JWK = { ...pair.publicJwk, kid };
  return {
    alg,
    kid,
    privateJwk,
    publicJwk,
    jwks: { keys: [publicJwk] },
    sign: async (claims, header = {}) => signRaw({ alg, kid, typ: 'JWT', ...header }, claims, privateJwk),
  };
}

/** Unix time `deltaSeconds` from now (negative for the past), for exp/nbf/iat. */
export function inSeconds(deltaSeconds: number): number {
  return Math.floor(Date.now() / 1000) + deltaSeconds;
}

/** A private JWK, `'none'` (empty signature), or an HMAC secret (HS256/384/512 per the header's alg). */
export type RawSigner = JWK | 'none' | { readonly hmacSecret: string | Uint8Array };

/**
 * A compact JWS of `header` and `payload` exactly as given, no checks: the header's `alg` picks
 * the signature algorithm (for a JWK without one in the header, the key's own).
 */
export function signRaw(
  header: Readonly<Record<string, unknown>>,
  payload: unknown,
  signer: RawSigner,
): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const headerAlg = typeof header['alg'] === 'string' ? header['alg'] : undefined;
  if (signer === 'none') return `${input}.`;
  if ('hmacSecret' in signer) {
    const hash = headerAlg === 'HS384' ? 'sha384' : headerAlg === 'HS512' ? 'sha512' : 'sha256';
    return `${input}.${createHmac(hash, signer.hmacSecret).update(input).digest('base64url')}`;
  }
  const alg = headerAlg ?? signingAlg(signer);
  const key = createPrivateKey({ key: signer, format: 'jwk' });
  return `${input}.${signWithAlg(alg, key, Buffer.from(input)).toString('base64url')}`;
}

/** The SPKI PEM of a public JWK: the classic "HS256 keyed with the public key" secret. */
export function publicKeyPem(publicJwk: JWK): string {
  return createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}

function signWithAlg(alg: string, key: KeyObject, data: Buffer): Buffer {
  const bits = alg.slice(2);
  const hash = `sha${bits}`;
  if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoSign(null, data, key);
  if (alg.startsWith('ES')) return cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('RS')) return cryptoSign(hash, data, key);
  if (alg.startsWith('PS')) {
    return cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  }
  throw new Error(`signRaw: cannot sign ${alg} with a private JWK`);
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
