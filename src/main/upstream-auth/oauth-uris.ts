// The OAuth URIs token exchanges name (RFC 8693 §3, RFC 7523, RFC 7521, the ID-JAG draft).

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID = 'urn:ietf:params:oauth:token-type:id_token';
export const TOKEN_TYPE_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';

/** Form parameters the exchange itself sends: `additionalParams` may not name them (any case). */
export const RESERVED_PARAMS: readonly string[] = [
  'grant_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'assertion', 'audience',
  'resource', 'scope', 'requested_token_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type',
];

/** RFC 8693 token types and RFC 8707 resources: an absolute URI without a fragment. */
export function isAbsoluteUriWithoutFragment(value: string): boolean {
  return URL.canParse(value) && !value.includes('#');
}
