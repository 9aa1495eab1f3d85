// Credentials kept out of what the gateway writes down (access log, log lines, error text,
// /config_dump): the values of query parameters that carry one, and a configured URL's user,
// password and query. Everything shows the same marker in their place.

import { decodeComponent } from '../http/request.js';

export const redacted = '<redacted>';

/** Parameter names that carry a credential wherever they appear: OAuth 2.0 / OIDC (`code`,
 * `access_token`, `client_secret`, `client_assertion`, `code_verifier`), API keys, signed-URL
 * signatures (`sig`, `X-Amz-Signature`, `X-Amz-Credential`), passwords, and session ids: the
 * legacy SSE transport's `?sessionId=` is all it takes to post into a session. Matched on the
 * lower-cased, percent-decoded name; a harmless name caught by these only costs a log value. */
const credentialPart = /token|secret|passw|session|signature|credential|assertion|auth|api[-_]?key|access[-_]?key|private[-_]?key/;
const credentialNames: ReadonlySet<string> = new Set(['code', 'code_verifier', 'key', 'sig', 'sid', 'pass', 'pwd', 'jwt', 'otp', 'hmac']);

/** A JWT or JWE in compact form, whatever parameter (or none) carries it. */
const compactJose = /^eyJ[\w-]*\.[\w-]*\./;
/** The same anywhere in a text (`Bearer eyJ…`, a JSON value holding one). */
const joseInside = /eyJ[\w-]*\.[\w-]*\./;
/** An HTTP credential as a header carries it (RFC 9110 §11: `Bearer …`, `Basic …`, …). */
const authScheme = /^\s*(?:bearer|basic|digest|negotiate|ntlm|dpop|token|hoba|mutual|aws4-hmac-sha256)\s+\S/i;

/** Headers that carry credentials whatever the value looks like. */
const credentialHeaders: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** A value that carries a credential on its face: a JWT anywhere in it, or an auth scheme. */
export function looksLikeCredential(value: string): boolean {
  return joseInside.test(value) || authScheme.test(value);
}

/** A header or field name under which a credential travels (`authorization`, `x-api-key`,
 * `cookie`, `*token*`, `*secret*` …); compared case-insensitively. */
export function isCredentialLabel(name: string): boolean {
  return credentialHeaders.has(name.toLowerCase()) || isCredentialName(name, []);
}

function isCredentialName(name: string | null, extra: readonly string[]): boolean {
  // A name that does not decode cannot be told apart from one that does: fail closed.
  if (name === null) return true;
  const lower = name.toLowerCase();
  return credentialNames.has(lower) || credentialPart.test(lower) || extra.some((n) => n.toLowerCase() === lower);
}

function redactPart(part: string, extra: readonly string[]): string {
  const eq = part.indexOf('=');
  if (eq < 0) return compactJose.test(decodeComponent(part) ?? part) ? redacted : part;
  const key = part.slice(0, eq);
  const value = part.slice(eq + 1);
  if (value === '') return part;
  if (isCredentialName(decodeComponent(key), extra) || compactJose.test(decodeComponent(value) ?? value)) return `${key}=${redacted}`;
  return part;
}

/** A request's query for the log: the values of credential-like parameters, of `extra` (names
 * the config reads a token from) and of anything shaped like a JWT replaced by the marker.
 * Names compare case-insensitively and percent-decoded, as a server reading them might; `;` is
 * taken as a separator too, as some servers do. */
export function redactQuery(query: string, extra: readonly string[] = []): string {
  return query.replace(/[^&;]+/g, (part) => redactPart(part, extra));
}

/** A configured http(s) URL for the log or /config_dump: user, password and every query value
 * replaced (a token in a JWKS URL looks like any other parameter). Other text is left as it is. */
export function redactUrl(text: string): string {
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return text;
  if (url.username === '' && url.password === '' && url.search === '') return text;
  if (url.username !== '') url.username = redacted;
  if (url.password !== '') url.password = redacted;
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, redacted);
  return url.href;
}
