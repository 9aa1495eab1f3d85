// Narrowing of decoded worker results. A frame that does not match is a programmer error
// (a version skew between main and worker code), never an outcome, so these throw.

import type { Claims, FilterResult, ReasonCode, VerifyResult } from './worker-contract.js';
import { isRecord } from './is-record.js';

const reasons: ReadonlySet<string> = new Set<ReasonCode>([
  'malformed', 'missing_kid', 'unknown_kid', 'alg_not_allowed', 'bad_signature', 'expired',
  'not_yet_valid', 'missing_exp', 'missing_claim', 'bad_issuer', 'bad_audience', 'bad_claim_type',
]);

function isReason(v: unknown): v is ReasonCode {
  return typeof v === 'string' && reasons.has(v);
}

function isClaims(v: unknown): v is Claims {
  return isRecord(v);
}

export function asVerifyResult(v: unknown): VerifyResult {
  if (isRecord(v)) {
    if (v['ok'] === true && isClaims(v['claims']) && typeof v['exp'] === 'number' && typeof v['issuer'] === 'string' && typeof v['kid'] === 'string' && typeof v['key'] === 'string') {
      return { ok: true, claims: v['claims'], exp: v['exp'], issuer: v['issuer'], kid: v['kid'], key: v['key'] };
    }
    if (v['ok'] === false && isReason(v['reason']) && typeof v['detail'] === 'string') {
      return { ok: false, reason: v['reason'], detail: v['detail'] };
    }
  }
  throw new TypeError('worker returned a malformed verify result');
}

export function asFilterResult(v: unknown): FilterResult {
  if (
    isRecord(v) &&
    (v['body'] === null || typeof v['body'] === 'string') &&
    typeof v['kept'] === 'number' &&
    typeof v['removed'] === 'number' &&
    typeof v['ruleErrors'] === 'number'
  ) {
    const counts = { body: v['body'], kept: v['kept'], removed: v['removed'], ruleErrors: v['ruleErrors'] };
    const span = v['resultSpan'];
    if (span === undefined) return counts;
    if (Array.isArray(span) && span.length === 2 && Number.isInteger(span[0]) && Number.isInteger(span[1])) {
      return { ...counts, resultSpan: [Number(span[0]), Number(span[1])] };
    }
  }
  throw new TypeError('worker returned a malformed filter result');
}
