// JWK → cached KeyObject, plus the algorithms that key may verify.
// Keys are imported once per config generation; the hot path only calls `crypto.verify`, or for
// RSA, where it loaded, the native verifier that keeps OpenSSL's context per key (native-rsa.ts).
import { constants, createPublicKey, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { jwkThumbprint } from '../../protocol/jwk-thumbprint.js';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { ALGORITHMS, RSA_ALGS, isForbiddenAlg, type AlgSpec, type JwsAlg } from './algorithms.js';
import { quote } from './text.js';
import { errorText } from '../../protocol/errors.js';
import { nativeRsaCheck } from './native-rsa.js';

/** One signature check bound to a key: what `crypto.verify` needs, run synchronously (workers)
 * or on the libuv pool (the main thread, see `checkSignatureAsync`). */
export interface SignatureCheck {
  /** digest for `crypto.verify`; null for EdDSA */
  readonly hash: string | null;
  readonly key: KeyObject | VerifyKeyObjectInput;
  /** the only signature length accepted (RSA: the modulus's; ECDSA: r ‖ s), 0 for any, -1 for none */
  readonly length: number;
  /** the same check by the native RSA verifier, for the synchronous path; null: node:crypto */
  readonly native: ((signingInput: Uint8Array, signature: Uint8Array) => boolean) | null;
}

/** Checks one signature over the JWS signing input; odd input (e.g. an RSA signature of the
 * wrong length, which OpenSSL may throw on) is simply a bad signature. */
export function checkSignature(check: SignatureCheck, signingInput: Uint8Array, signature: Uint8Array): boolean {
  if (check.length !== 0 && signature.length !== check.length) return false;
  try {
    return check.native !== null ? check.native(signingInput, signature) : verify(check.hash, signingInput, check.key, signature);
  } catch {
    return false;
  }
}

/** `checkSignature` with the math on the libuv pool: the calling thread spends a fraction of the
 * time the check takes, which matters where that thread is the event loop. Always node:crypto:
 * the native verifier's kept context belongs to one thread, and the pool has several. */
export function checkSignatureAsync(check: SignatureCheck, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (check.length !== 0 && signature.length !== check.length) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(check.hash, signingInput, check.key, signature, (err, valid) => resolve(err === null && valid));
    } catch {
      resolve(false);
    }
  });
}

export interface ImportedKey {
  readonly kid: string;
  /** names the key material (RFC 7638), reported with every token it verifies */
  readonly thumbprint: string;
  /** allowed algorithm → its verifier, bound to this key */
  readonly verifiers: ReadonlyMap<string, SignatureCheck>;
}

export type KeyImport =
  | { readonly ok: true; readonly key: ImportedKey }
  | { readonly ok: false; readonly problem: string };

const MIN_RSA_BITS = 2048;

interface KeyShape {
  readonly algs: readonly JwsAlg[];
  readonly keyType: string;
  readonly curve?: string;
}

/** What a JWK's type permits when it names no `alg` (and what its `alg` must be among). */
function shapeOf(jwk: PublicJwk): KeyShape | string {
  switch (jwk.kty) {
    case 'RSA':
      return { algs: RSA_ALGS, keyType: 'rsa' };
    case 'EC':
      if (jwk.crv === 'P-256') return { algs: ['ES256'], keyType: 'ec', curve: 'prime256v1' };
      if (jwk.crv === 'P-384') return { algs: ['ES384'], keyType: 'ec', curve: 'secp384r1' };
      return `EC curve ${quote(String(jwk.crv))} is not supported`;
    case 'OKP':
      if (jwk.crv === 'Ed25519') return { algs: ['EdDSA'], keyType: 'ed25519' };
      return `OKP curve ${quote(String(jwk.crv))} is not supported`;
    case 'oct':
      return 'symmetric keys are not accepted';
    default:
      return `key type ${quote(String(jwk.kty))} is not supported`;
  }
}

/** An RSA signature is exactly as long as the modulus (RFC 8017 §8.1.2, §8.2.2 step 1). OpenSSL
 * checks that for PKCS #1 v1.5 but lets a PSS signature through without its leading zero bytes:
 * a second spelling of the same token. */
function rsaSignatureLength(key: KeyObject): number {
  return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

function verifierFor(spec: AlgSpec, key: KeyObject): SignatureCheck {
  switch (spec.family) {
    case 'rsa-pkcs1':
      return { hash: spec.hash, key, length: rsaSignatureLength(key), native: spec.hash === null ? null : nativeRsaCheck(key, spec.hash, false) };
    case 'rsa-pss':
      // RFC 7518 §3.5: the salt is as long as the digest (so in rsa_verify.c).
      return {
        hash: spec.hash,
        key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        length: rsaSignatureLength(key),
        native: spec.hash === null ? null : nativeRsaCheck(key, spec.hash, true),
      };
    case 'ecdsa':
      // JWS carries r ‖ s (IEEE P1363), not DER.
      return { hash: spec.hash, key: { key, dsaEncoding: 'ieee-p1363' }, length: spec.signatureLength ?? -1, native: null };
    case 'eddsa':
      return { hash: null, key, length: 0, native: null };
  }
}

/**
 * Imports one JWK for signature verification. A key that cannot be used is reported as a
 * problem (for the config log), never thrown: tokens naming it then get `unknown_kid`.
 */
export function importJwk(jwk: PublicJwk): KeyImport {
  const kid = jwk.kid;
  if (typeof kid !== 'string' || kid === '') return { ok: false, problem: 'a key has no "kid"; it is ignored' };
  const name = `key ${quote(kid)}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return { ok: false, problem: `${name} is not a signing key (use ${quote(String(jwk.use))})` };
  const ops = jwk['key_ops'];
  if (Array.isArray(ops) && !ops.includes('verify')) return { ok: false, problem: `${name} does not allow "verify" in key_ops` };

  const shape = shapeOf(jwk);
  if (typeof shape === 'string') return { ok: false, problem: `${name}: ${shape}` };

  let algs: readonly JwsAlg[] = shape.algs;
  if (jwk.alg !== undefined) {
    // A JWK that names its algorithm allows exactly that one.
    const declared = shape.algs.find((a) => a === jwk.alg);
    if (typeof jwk.alg !== 'string' || isForbiddenAlg(jwk.alg) || declared === undefined) {
      return { ok: false, problem: `${name} declares alg ${quote(String(jwk.alg))}, which does not fit its type` };
    }
    algs = [declared];
  }

  let keyObject: KeyObject;
  try {
    // Only the public members are passed on: a private JWK must not make us hold a private key.
    keyObject = createPublicKey({ key: publicMembers(jwk), format: 'jwk' });
  } catch (err) {
    return { ok: false, problem: `${name} could not be imported: ${errorText(err)}` };
  }
  if (keyObject.asymmetricKeyType !== shape.keyType) {
    return { ok: false, problem: `${name} imported as ${String(keyObject.asymmetricKeyType)}, expected ${shape.keyType}` };
  }
  // RFC 7518 §3.3/§3.5: RSA keys for RS*/PS* must be at least 2048 bits.
  const bits = keyObject.asymmetricKeyDetails?.modulusLength;
  if (shape.keyType === 'rsa' && (bits === undefined || bits < MIN_RSA_BITS)) {
    return { ok: false, problem: `${name} is an RSA key of ${String(bits)} bits; at least ${MIN_RSA_BITS} are required` };
  }
  if (shape.curve !== undefined && keyObject.asymmetricKeyDetails?.namedCurve !== shape.curve) {
    return { ok: false, problem: `${name} is not on curve ${String(jwk.crv)}` };
  }

  const verifiers = new Map<string, SignatureCheck>();
  for (const alg of algs) {
    const spec = ALGORITHMS.get(alg);
    if (spec !== undefined) verifiers.set(alg, verifierFor(spec, keyObject));
  }
  return { ok: true, key: { kid, thumbprint: jwkThumbprint(jwk), verifiers } };
}

function publicMembers(jwk: PublicJwk): { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string } {
  const out: { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string } = { kty: jwk.kty };
  if (jwk.n !== undefined) out.n = jwk.n;
  if (jwk.e !== undefined) out.e = jwk.e;
  if (jwk.crv !== undefined) out.crv = jwk.crv;
  if (jwk.x !== undefined) out.x = jwk.x;
  if (jwk.y !== undefined) out.y = jwk.y;
  return out;
}
