// Bearer token verification: strict parse → header rules → key by kid → signature → claims.
//
// Signatures use node:crypto's `crypto.verify` with KeyObjects imported once per generation:
// less CPU than jose's `jwtVerify`, which goes through async WebCrypto and a second hop to the
// libuv pool. Workers call it synchronously; the main thread hands the math to the libuv pool
// (`verifyTokenAsync`), so the event loop spends little on a token, unless the process has a
// single CPU, where the hand-off costs more than it saves (src/main/policy-engine/runner.ts). jose stays in the project
// for signing and key generation.
import type { ReasonCode, VerifyResult } from '../../protocol/worker-contract.js';
import { ALGORITHMS, isForbiddenAlg } from './algorithms.js';
import { checkClaims } from './claims.js';
import { decodeCompactJws, type JsonObject } from './decode.js';
import { checkSignature, checkSignatureAsync, type SignatureCheck } from './keys.js';
import { selectCandidate, type PreparedProviderSet } from './provider-set.js';
import { quote } from './text.js';

function refuse(reason: ReasonCode, detail: string): VerifyResult {
  return { ok: false, reason, detail };
}

const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/at+jwt']);

/** Header rules that need no key. Returns a refusal, or the alg and kid. */
function checkHeader(header: JsonObject): VerifyResult | { readonly alg: string; readonly kid: string } {
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') return refuse('malformed', 'token header has no "alg" string');
  // We understand no JWS extensions, so any critical one must be refused (RFC 7515 §4.1.11).
  if (header['crit'] !== undefined) return refuse('malformed', 'token header has a "crit" member');
  if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYP.has(typ.toLowerCase()))) {
    return refuse('malformed', 'token "typ" is not JWT');
  }
  if (isForbiddenAlg(alg) || !ALGORITHMS.has(alg)) return refuse('alg_not_allowed', `algorithm ${quote(alg)} is not accepted`);
  if (kid === undefined) return refuse('missing_kid', 'token header has no "kid"');
  if (typeof kid !== 'string') return refuse('missing_kid', 'token header "kid" is not a string');
  return { alg, kid };
}

// Seconds, not milliseconds: Date.now() passed by mistake would expire every token, and NaN
// would make every comparison false, i.e. no token ever expire.
const LATEST_PLAUSIBLE_NOW = 1e11;

/** A token whose header and key check out, waiting for its signature to be checked. */
interface PendingSignature {
  readonly check: SignatureCheck;
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
  /** the outcome once the signature is known */
  conclude(valid: boolean): VerifyResult;
}

/** Everything but the signature math. `now` in seconds since the epoch. Throws only for an
 * implausible `now` (a caller bug). */
function prepare(set: PreparedProviderSet, token: string, now: number): VerifyResult | PendingSignature {
  if (!(now > 0 && now < LATEST_PLAUSIBLE_NOW)) throw new RangeError(`now must be seconds since the epoch, got ${now}`);
  const decoded = decodeCompactJws(token);
  if (!decoded.ok) return refuse('malformed', decoded.detail);
  const { header, payload, signingInput, signature } = decoded.jws;

  const head = checkHeader(header);
  if ('ok' in head) return head;
  const { alg, kid } = head;

  const candidates = set.byKid.get(kid);
  const candidate = candidates === undefined ? undefined : selectCandidate(candidates, payload['iss']);
  if (candidate === undefined) return refuse('unknown_kid', `unknown key ${quote(kid)}`);
  const check = candidate.key.verifiers.get(alg);
  if (check === undefined) return refuse('alg_not_allowed', `algorithm ${quote(alg)} is not allowed for key ${quote(kid)}`);

  return {
    check,
    signingInput,
    signature,
    conclude(valid) {
      if (!valid) return refuse('bad_signature', 'signature does not verify');
      // Only now are the claims authentic.
      const claims = checkClaims(payload, candidate.provider, set.leewaySeconds, now, set.requiredClaims);
      if (!claims.ok) return claims;
      return { ok: true, claims: payload, exp: claims.exp, issuer: claims.issuer, kid, key: candidate.key.thumbprint };
    },
  };
}

/** `now` in seconds since the epoch. Throws only for an implausible `now` (a caller bug). */
export function verifyToken(set: PreparedProviderSet, token: string, now: number): VerifyResult {
  const p = prepare(set, token, now);
  return 'ok' in p ? p : p.conclude(checkSignature(p.check, p.signingInput, p.signature));
}

/** `verifyToken` with the signature checked on the libuv pool: for the main thread, whose time
 * is the gateway's throughput (a worker thread verifies synchronously). */
export async function verifyTokenAsync(set: PreparedProviderSet, token: string, now: number): Promise<VerifyResult> {
  const p = prepare(set, token, now);
  return 'ok' in p ? p : p.conclude(await checkSignatureAsync(p.check, p.signingInput, p.signature));
}
