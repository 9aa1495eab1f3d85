// jwtAuth `jwtValidationOptions`: `requiredClaims` (agentgateway HEAD; default `["exp"]`) and
// `leeway` (clock skew allowed on exp/nbf; a duration such as `30s`, or an integer of seconds;
// default 60 s, the jsonwebtoken default agentgateway runs with). `exp` is always required: a
// token without an expiry would stay valid (and cached) for ever.

import { parseDurationMs } from './duration.js';
import { type MapReader, asString } from './schema-reader.js';

export const DEFAULT_LEEWAY_SECONDS = 60;
const MAX_LEEWAY_SECONDS = 3600;
const LEEWAY_EXPECTED = `expected whole seconds from 0 to ${MAX_LEEWAY_SECONDS}, as a duration such as 30s or 2m or as an integer`;

export interface ValidationOptions {
  readonly requiredClaims: readonly string[];
  readonly leewaySeconds: number;
}

export const DEFAULT_VALIDATION: ValidationOptions = { requiredClaims: ['exp'], leewaySeconds: DEFAULT_LEEWAY_SECONDS };

export function readJwtValidation(parent: MapReader): ValidationOptions | undefined {
  if (!parent.has('jwtValidationOptions')) return DEFAULT_VALIDATION;
  const m = parent.map('jwtValidationOptions', { known: ['requiredClaims', 'leeway'] });
  if (m === undefined) return undefined;
  const requiredClaims = readRequiredClaims(m);
  const leewaySeconds = readLeeway(m);
  if (requiredClaims === undefined || leewaySeconds === undefined) return undefined;
  return { requiredClaims, leewaySeconds };
}

/** Any claim may be required; `exp` is kept (first) when the list leaves it out; repeats are dropped. */
function readRequiredClaims(m: MapReader): string[] | undefined {
  if (!m.has('requiredClaims')) return DEFAULT_VALIDATION.requiredClaims.slice();
  const items = m.list('requiredClaims');
  if (items === undefined) return undefined;
  const claims = new Set(['exp']);
  let ok = true;
  for (const item of items) {
    const claim = asString(m.issues, item.path, item.value, true);
    if (claim === undefined) ok = false;
    else claims.add(claim);
  }
  return ok ? [...claims] : undefined;
}

function readLeeway(m: MapReader): number | undefined {
  const v = m.value('leeway');
  if (v === undefined) return DEFAULT_LEEWAY_SECONDS;
  let seconds: number | undefined;
  if (typeof v === 'number') seconds = Number.isSafeInteger(v) ? v : undefined;
  else if (typeof v === 'string') {
    const ms = parseDurationMs(v);
    seconds = ms !== undefined && ms % 1000 === 0 ? ms / 1000 : undefined;
  }
  if (seconds === undefined || seconds < 0 || seconds > MAX_LEEWAY_SECONDS) {
    m.issues.add(m.at('leeway'), LEEWAY_EXPECTED);
    return undefined;
  }
  return seconds;
}
