// A token endpoint's 2xx answer, checked as agentgateway's `TokenResponse::into_token`: JSON with
// a non-empty `access_token`; `token_type` Bearer (any case), or for an ID-JAG `issued_token_type`
// id-jag with `token_type` absent or N_A; an `issued_token_type` other than the one requested is
// refused; `expires_in` optional. Portcullis also refuses a token that could not be sent in a
// header. Reasons name the rule broken; the values the endpoint sent go to the detail only.

import { isPlainObject } from '../config/schema-reader.js';
import { TOKEN_TYPE_ID_JAG, isAbsoluteUriWithoutFragment } from './oauth-uris.js';

export type TokenResponse =
  | { readonly ok: true; readonly accessToken: string; readonly expiresIn: number | null }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

/** `requested`: the token type asked for (null: none asked, no issued_token_type check). */
export function readTokenResponse(body: Buffer, requested: string | null): TokenResponse {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return refused('token exchange response decode failed', 'not JSON');
  }
  if (!isPlainObject(value)) return refused('token exchange response decode failed', 'not a JSON object');
  const accessToken = value['access_token'];
  const issued = optionalString(value, 'issued_token_type');
  const tokenType = optionalString(value, 'token_type');
  const expiresIn = value['expires_in'] ?? null;
  if (typeof accessToken !== 'string') return refused('token exchange response decode failed', 'access_token missing or not a string');
  if (issued === undefined || tokenType === undefined) return refused('token exchange response decode failed', 'issued_token_type or token_type not a string');
  if (expiresIn !== null && !(typeof expiresIn === 'number' && Number.isSafeInteger(expiresIn) && expiresIn >= 0)) {
    return refused('token exchange response decode failed', 'expires_in not a non-negative integer');
  }
  const typeProblem = requested === TOKEN_TYPE_ID_JAG ? idJagProblem(issued, tokenType) : bearerProblem(issued, tokenType, requested);
  if (typeProblem !== null) return typeProblem;
  if (accessToken === '') return refused('token exchange response contained an empty access_token', 'empty access_token');
  // A token goes into a header as it is: CR, LF or any control character would split the request.
  if (!/^[\x21-\x7e]+$/.test(accessToken)) return refused('token exchange response contained an access_token that cannot be sent', 'access_token holds characters outside visible ASCII');
  return { ok: true, accessToken, expiresIn };
}

function idJagProblem(issued: string | null, tokenType: string | null): TokenResponse | null {
  if (issued === null) return refused('token exchange response missing issued_token_type', 'no issued_token_type');
  if (issued !== TOKEN_TYPE_ID_JAG) {
    return refused('token exchange returned an issued_token_type other than id-jag', `issued_token_type ${shown(issued)}, expected ${TOKEN_TYPE_ID_JAG}`);
  }
  if (tokenType !== null && tokenType.toLowerCase() !== 'n_a') return refused('token exchange returned unsupported token_type for id-jag', `token_type ${shown(tokenType)}`);
  return null;
}

function bearerProblem(issued: string | null, tokenType: string | null, requested: string | null): TokenResponse | null {
  // Only bearer tokens are forwarded.
  if (tokenType === null) return refused('token exchange response missing token_type', 'no token_type');
  if (tokenType.toLowerCase() !== 'bearer') return refused('token exchange returned unsupported token_type', `token_type ${shown(tokenType)}`);
  if (requested === null || issued === null) return null;
  if (!isAbsoluteUriWithoutFragment(issued)) return refused('token exchange returned unusable issued_token_type', `issued_token_type ${shown(issued)}`);
  if (issued !== requested) {
    return refused('token exchange returned an issued_token_type other than the one requested', `issued_token_type ${shown(issued)}, expected ${requested}`);
  }
  return null;
}

/** A string member, null when absent or JSON null, undefined when another type. */
function optionalString(o: Readonly<Record<string, unknown>>, name: string): string | null | undefined {
  const v = o[name] ?? null;
  return v === null || typeof v === 'string' ? v : undefined;
}

function refused(reason: string, detail: string): TokenResponse {
  return { ok: false, reason, detail };
}

/** An endpoint's value in a log line: quoted, short, control characters escaped. */
export function shown(value: string, max = 128): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
