// The JWS algorithms Portcullis verifies, and the node:crypto parameters for each.
// Symmetric (HS*) and `none` are deliberately absent: a public key must never double as an
// HMAC secret (algorithm confusion), and an unsigned token is no token.

export type JwsAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'EdDSA';

export type AlgFamily = 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'eddsa';

export interface AlgSpec {
  readonly family: AlgFamily;
  /** node:crypto digest name; null for EdDSA (the hash is part of the scheme) */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** ECDSA only: the IEEE P1363 signature length (r ‖ s) */
  readonly signatureLength?: number;
}

export const ALGORITHMS: ReadonlyMap<string, AlgSpec> = new Map<JwsAlg, AlgSpec>([
  ['RS256', { family: 'rsa-pkcs1', hash: 'sha256' }],
  ['RS384', { family: 'rsa-pkcs1', hash: 'sha384' }],
  ['RS512', { family: 'rsa-pkcs1', hash: 'sha512' }],
  ['PS256', { family: 'rsa-pss', hash: 'sha256' }],
  ['PS384', { family: 'rsa-pss', hash: 'sha384' }],
  ['PS512', { family: 'rsa-pss', hash: 'sha512' }],
  ['ES256', { family: 'ecdsa', hash: 'sha256', signatureLength: 64 }],
  ['ES384', { family: 'ecdsa', hash: 'sha384', signatureLength: 96 }],
  ['EdDSA', { family: 'eddsa', hash: null }],
]);

export const RSA_ALGS: readonly JwsAlg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/** Algorithms no key may ever accept, whatever its JWK says. */
export function isForbiddenAlg(alg: string): boolean {
  return alg.toLowerCase() === 'none' || alg.startsWith('HS');
}
