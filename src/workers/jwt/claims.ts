// Claim checks, run only after the signature verified.
import type { ReasonCode } from '../../protocol/worker-contract.js';
import type { JsonObject } from './decode.js';
import type { PreparedProvider } from './provider-set.js';
import { quote } from './text.js';

export type ClaimsOutcome =
  | { readonly ok: true; readonly exp: number; readonly issuer: string }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

function fail(reason: ReasonCode, detail: string): ClaimsOutcome {
  return { ok: false, reason, detail };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function optional(value: unknown, test: (v: unknown) => boolean): boolean {
  return value === undefined || test(value);
}

function isAudience(value: unknown): boolean {
  return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
}

function hasAudience(aud: unknown, accepted: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return accepted.has(aud);
  return Array.isArray(aud) && aud.some((v) => typeof v === 'string' && accepted.has(v));
}

/** `now` in seconds; `leeway` in seconds applies to exp and nbf. */
export function checkClaims(
  claims: JsonObject,
  provider: PreparedProvider,
  leeway: number,
  now: number,
  required: readonly string[] = [],
): ClaimsOutcome {
  const { exp, nbf, iat, iss, sub, aud } = claims;
  if (exp === undefined) return fail('missing_exp', 'token has no "exp" claim');
  for (const name of required) {
    if (!Object.hasOwn(claims, name) || claims[name] === undefined || claims[name] === null) return fail('missing_claim', `token has no ${quote(name)} claim`);
  }
  if (!isFiniteNumber(exp)) return fail('bad_claim_type', '"exp" is not a number');
  if (!optional(nbf, isFiniteNumber)) return fail('bad_claim_type', '"nbf" is not a number');
  if (!optional(iat, isFiniteNumber)) return fail('bad_claim_type', '"iat" is not a number');
  if (!optional(iss, (v) => typeof v === 'string')) return fail('bad_claim_type', '"iss" is not a string');
  if (!optional(sub, (v) => typeof v === 'string')) return fail('bad_claim_type', '"sub" is not a string');
  if (!optional(aud, isAudience)) return fail('bad_claim_type', '"aud" is not a string or a list of strings');

  if (now > exp + leeway) return fail('expired', `token expired ${Math.floor(now - exp)} s ago`);
  if (typeof nbf === 'number' && now + leeway < nbf) {
    return fail('not_yet_valid', `token is not valid for another ${Math.ceil(nbf - now)} s`);
  }
  if (typeof iss !== 'string') return fail('bad_issuer', 'token has no "iss" claim');
  if (iss !== provider.issuer) return fail('bad_issuer', `issuer ${quote(iss)} is not accepted`);
  if (provider.audiences !== null) {
    if (aud === undefined) return fail('bad_audience', 'token has no "aud" claim');
    if (!hasAudience(aud, provider.audiences)) return fail('bad_audience', 'token audience is not accepted');
  }
  return { ok: true, exp, issuer: iss };
}
