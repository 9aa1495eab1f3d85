// Who may come in, and what they may do: CORS, jwtAuth and its providers, mcpAuthentication,
// rule sets. Part of the normalised configuration (types.ts re-exports it).

import type { PublicJwk } from '../../protocol/worker-contract.js';
import type { BackendTlsPolicy } from './types-upstream.js';

/** `"*"` in a list becomes the wildcard. */
export type StringListOrAny = { readonly any: true } | { readonly any: false; readonly values: readonly string[] };

export interface CorsPolicy {
  readonly allowCredentials: boolean;
  readonly allowHeaders: StringListOrAny;
  readonly allowMethods: StringListOrAny;
  readonly allowOrigins: StringListOrAny;
  readonly exposeHeaders: StringListOrAny;
  /** seconds; null when unset */
  readonly maxAge: number | null;
}

export type JwtMode = 'strict' | 'optional' | 'permissive';

export interface JwtAuthPolicy {
  readonly mode: JwtMode;
  readonly providers: readonly JwtProviderConfig[];
  /** clock skew allowed on exp/nbf (`jwtValidationOptions.leeway`, default 60 s) */
  readonly leewaySeconds: number;
  /** claims a token must carry (`jwtValidationOptions.requiredClaims`, default `["exp"]`; exp is always required) */
  readonly requiredClaims: readonly string[];
  /** where the token is read from (`location`, default the Authorization header with prefix `Bearer `) */
  readonly location: TokenLocation;
}

export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'queryParameter'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

/** A credential location that can also be read by CEL (`expression`): where a subject or actor token comes from. */
export type SourceLocation = TokenLocation | { readonly kind: 'expression'; readonly expr: string };

/** `mcpAuthentication`: OAuth protected-resource metadata (RFC 9728) plus a JWT policy. */
export interface McpAuthenticationPolicy {
  readonly issuer: string;
  readonly audiences: readonly string[] | null;
  readonly jwksSource: JwksSource;
  readonly keys: readonly PublicJwk[];
  readonly mode: JwtMode;
  /** extra members of the metadata document, keys as written (converted to snake_case when served) */
  readonly resourceMetadata: Readonly<Record<string, unknown>>;
  /** scopes advertised in the 401 challenge and the metadata (`scopes_supported`) */
  readonly scopes: readonly string[];
}

export type JwksSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline' }
  | { readonly kind: 'url'; readonly url: string; readonly tls: BackendTlsPolicy | null }
  /** OIDC discovery: `<issuer>/.well-known/openid-configuration` → `jwks_uri` */
  | { readonly kind: 'discovery'; readonly tls: BackendTlsPolicy | null };

export interface JwtProviderConfig {
  readonly issuer: string;
  /** null: audience not checked (absent or empty list) */
  readonly audiences: readonly string[] | null;
  readonly jwksSource: JwksSource;
  /** Keys loaded at config load (file, inline); empty for `url` until fetched. */
  readonly keys: readonly PublicJwk[];
}

export type RuleKind = 'allow' | 'deny' | 'require';

export interface RuleConfig {
  readonly kind: RuleKind;
  readonly expr: string;
  /** config path of the rule, for messages: `binds[0]...mcpAuthorization.rules[0]` */
  readonly path: string;
}

export interface RuleSetConfig {
  readonly rules: readonly RuleConfig[];
}
