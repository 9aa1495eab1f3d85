// What an upstream gets instead of the caller's token (backendAuth): static keys, token
// exchange, Cross App Access, and the secrets they hold. Part of the normalised configuration
// (types.ts re-exports it).

import type { SourceLocation, TokenLocation } from './types-identity.js';
import type { BackendTlsPolicy } from './types-upstream.js';

/**
 * A credential from the config (inline, `{file: <path>}` or `$ENV`), trimmed. Only this shape
 * holds secrets: /config_dump shows `secret` as `<redacted>`, whatever the member is called.
 */
export interface SecretValue {
  readonly secret: string;
  /** the absolute path it was read from, null when inline */
  readonly file: string | null;
}

/** `backendAuth.credentials[]`: a static credential added after the primary kind. */
export interface ExtraCredential {
  readonly location: TokenLocation;
  readonly key: SecretValue;
}

/**
 * `backendAuth` (agentgateway HEAD `BackendAuth`): at most one kind plus extra credentials.
 * Header locations here carry their prefix as written (no prefix: the bare value).
 */
export type BackendAuthPolicy =
  /** the caller's verified token, put back at `location` */
  | { readonly kind: 'passthrough'; readonly location: TokenLocation; readonly credentials: readonly ExtraCredential[] }
  | { readonly kind: 'key'; readonly value: SecretValue; readonly location: TokenLocation; readonly credentials: readonly ExtraCredential[] }
  | { readonly kind: 'oauthTokenExchange'; readonly exchange: TokenExchangeConfig; readonly credentials: readonly ExtraCredential[] }
  | { readonly kind: 'crossAppAccess'; readonly crossApp: CrossAppAccessConfig; readonly credentials: readonly ExtraCredential[] }
  /** `{credentials: [...]}` alone */
  | { readonly kind: 'credentials'; readonly credentials: readonly ExtraCredential[] };

/** Where a token endpoint is: a URL from `host` and `path`, or (a Portcullis extension) the
 * `token_endpoint` of an issuer's metadata, discovered at first use. `tls`: its
 * `policies.backendTLS` (the metadata is fetched with it too); null: the system roots. */
export type TokenEndpoint =
  | { readonly kind: 'url'; readonly url: string; readonly tls: BackendTlsPolicy | null }
  | { readonly kind: 'issuer'; readonly issuer: string; readonly tls: BackendTlsPolicy | null };

export type SigningAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';

/** `clientAuth` (RFC 6749 §2.3, RFC 7523 `private_key_jwt`). */
export type ClientAuthConfig =
  | { readonly method: 'clientSecretBasic'; readonly clientId: string; readonly clientSecret: SecretValue }
  | { readonly method: 'clientSecretPost'; readonly clientId: string; readonly clientSecret: SecretValue | null }
  | {
      readonly method: 'privateKeyJwt';
      readonly clientId: string;
      /** PEM (PKCS#8, PKCS#1 or SEC1), checked at load against `alg` */
      readonly signingKey: SecretValue;
      readonly alg: SigningAlg;
      readonly kid: string | null;
      readonly assertionAudience: string;
      /** from `certificate` + `certificateHeader: x5c`: the chain, base64 DER, leaf first */
      readonly x5c: readonly string[] | null;
      /** from `certificate` + `certificateHeader: x5t#S256`: the leaf's SHA-256 thumbprint */
      readonly x5tS256: string | null;
    };

/** `cache` of an exchange: `maxEntries` 0 turns it off. */
export interface TokenCacheConfig {
  readonly maxEntries: number;
  /** used when the token endpoint gives no `expires_in` */
  readonly defaultTtlSeconds: number;
}

export interface TokenSpecConfig {
  /** null: the default, the caller's bearer token (see src/main/upstream-auth/subject.ts) */
  readonly source: SourceLocation | null;
  /** RFC 8693 token type URI */
  readonly tokenType: string;
}

/** `oauthTokenExchange` (RFC 8693 token exchange or RFC 7523 jwt-bearer). */
export interface TokenExchangeConfig {
  readonly endpoint: TokenEndpoint;
  readonly grantType: 'tokenExchange' | 'jwtBearer';
  readonly subjectToken: TokenSpecConfig;
  readonly actorToken: { readonly source: SourceLocation; readonly tokenType: string; readonly enforceMayAct: boolean } | null;
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  /** null: `requested_token_type` is not sent */
  readonly requestedTokenType: string | null;
  readonly clientAuth: ClientAuthConfig | null;
  /** extra form parameters, CEL returning a string, sorted by name */
  readonly additionalParams: ReadonlyArray<{ readonly name: string; readonly expr: string }>;
  /** where the exchanged token goes on the upstream request */
  readonly authorizationLocation: TokenLocation;
  readonly cache: TokenCacheConfig;
}

/** One authorization server of `crossAppAccess`. */
export interface CrossAppAccessEndpoint {
  readonly endpoint: TokenEndpoint;
  readonly clientAuth: ClientAuthConfig;
}

/** `crossAppAccess` (Identity Assertion JWT Authorization Grant, MCP Enterprise-Managed Authorization). */
export interface CrossAppAccessConfig {
  /** leg 1: token exchange for an ID-JAG */
  readonly identityProvider: CrossAppAccessEndpoint;
  /** leg 2: jwt-bearer with the ID-JAG for an access token */
  readonly resourceAuthorizationServer: CrossAppAccessEndpoint;
  /** the resource authorization server's issuer identifier */
  readonly audience: string;
  readonly resources: readonly string[];
  /** leg-1 scope */
  readonly scopes: readonly string[];
  /** leg-2 scope: `accessTokenScopes`, else `scopes` */
  readonly accessTokenScopes: readonly string[];
  readonly subjectToken: TokenSpecConfig;
  readonly cache: TokenCacheConfig;
}
