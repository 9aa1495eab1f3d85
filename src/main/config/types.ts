// The normalised configuration: what the loader produces from agentgateway's YAML after
// expansion, validation and defaults. Everything here is plain data (no functions), so the
// parts the workers need can be copied into a WorkerInit as they are.

import type { PublicJwk } from '../../protocol/worker-contract.js';

export type LogFormat = 'text' | 'json';

/** `config.logging` past `format` (agentgateway's names): what the access log writes, and which
 * lines are written at all. CEL is compiled when the gateway starts. */
export interface LoggingSettings {
  /** CEL: a request is logged only when this is true; null logs every request */
  readonly filter: string | null;
  /** fields appended to each access line, in order: name → CEL */
  readonly add: ReadonlyArray<{ readonly name: string; readonly expr: string }>;
  /** default access-line fields left out */
  readonly remove: readonly string[];
  /** level directives, `info` or `<scope>=<level>` (`request=off` turns the access log off) */
  readonly level: readonly string[];
}

/** Top-level `config:` block: runtime settings, read at start only (as agentgateway). */
export interface RuntimeSettings {
  /** Worker threads in the pool; 0 runs the same functions inline on the main thread. */
  readonly workers: number;
  readonly logFormat: LogFormat;
  readonly logging: LoggingSettings;
  /** Largest request body accepted, bytes (agentgateway: `config.listener.maxBufferSize`, 2 MiB). */
  readonly maxBodyBytes: number;
  /** `host:port` of the admin server (config_dump); null turns it off. */
  readonly adminAddr: string | null;
  /** `host:port` of the Prometheus server; null turns it off. */
  readonly statsAddr: string | null;
  /** `host:port` of the readiness server; null turns it off. */
  readonly readinessAddr: string | null;
  /** Bytes held for all requests in flight at once: bodies, answers held whole (filtered ones). */
  readonly bufferBudgetBytes: number;
  /** Filtered list results remembered per caller and worker (approximate bytes; 0 turns it off). */
  readonly listCacheBytes: number;
  /** Secret used to authenticate session ids (base64url or text); null means a random key per process. */
  readonly sessionKey: string | null;
  /** Calls (POST, DELETE) one caller may have in flight to one upstream at once (Portcullis only). */
  readonly upstreamCallsPerCaller: number;
  /** GET event streams one caller may hold open to one upstream at once (Portcullis only). */
  readonly upstreamStreamsPerCaller: number;
  /** The deprecated `config.tracing` (read at start, like the rest of `config:`); null when unset. */
  readonly tracing: TracingConfig | null;
}

export interface GatewayConfig {
  readonly runtime: RuntimeSettings;
  readonly binds: readonly BindConfig[];
  /** `frontendPolicies.tracing` (reloaded with the config); null when unset. At most one of this
   * and `runtime.tracing` is set. */
  readonly tracing: TracingConfig | null;
}

/** OpenTelemetry tracing, from `frontendPolicies.tracing` or the deprecated `config.tracing`. */
export interface TracingConfig {
  /** the collector: `http://host:port`, or `https://` for TLS */
  readonly endpoint: string;
  readonly protocol: 'grpc' | 'http';
  /** the OTLP/HTTP path (default `/v1/traces`) */
  readonly path: string;
  /** header fields (gRPC metadata) sent with every export; the values may be credentials */
  readonly headers: ReadonlyArray<readonly [string, SecretValue]>;
  /** span attributes added to the server span: name → CEL (a `span.name` attribute renames it) */
  readonly attributes: ReadonlyArray<readonly [string, string]>;
  /** resource attributes of the tracer provider: name → CEL over no request (`service.name`) */
  readonly resources: ReadonlyArray<readonly [string, string]>;
  /** default attributes left off the server span */
  readonly remove: readonly string[];
  /** CEL: a bool or a probability; starts a trace for a request that has none (default false) */
  readonly randomSampling: string | null;
  /** CEL: a bool or a probability; honours a client's traceparent (default true) */
  readonly clientSampling: string | null;
  /** CEL keeping a sampled request's spans when true (an error drops them) */
  readonly filter: string | null;
}

export interface BindConfig {
  readonly port: number;
  /** `bind/<port>` */
  readonly name: string;
  /** HTTPS: every listener has `tls` (a bind is one or the other) */
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly listeners: readonly ListenerConfig[];
}

export interface ListenerConfig {
  /** default `listener<idx>` */
  readonly name: string;
  /** false when `name` is the default, which names a position in the list, not the listener */
  readonly named: boolean;
  /** default: the bind name */
  readonly gatewayName: string;
  readonly hostname: string | null;
  /** HTTPS: the certificate served to clients naming `hostname` (SNI); null on HTTP */
  readonly tls: ListenerTls | null;
  readonly routes: readonly RouteConfig[];
}

/** A listener's `tls`: file paths, read and checked at load (a reload reads them again). */
export interface ListenerTls {
  readonly cert: SecretValue;
  readonly key: SecretValue;
}

export interface RouteConfig {
  /** default `route<idx>` */
  readonly name: string;
  /** false when `name` is the default, which names a position in the list, not the route */
  readonly named: boolean;
  /** default `default` */
  readonly ruleName: string;
  /** the access log's `route_rule`: `route0/default` (binds), the ruleName or nothing (gateways) */
  readonly ruleKey: string | null;
  readonly hostnames: readonly string[];
  /** default `[{ path: { kind: 'prefix', value: '/' } }]` */
  readonly matches: readonly RouteMatch[];
  readonly policies: RoutePolicies;
  readonly backends: readonly BackendConfig[];
}

export type PathMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'regex'; readonly value: string };

export interface ValueMatch {
  readonly name: string;
  readonly value: { readonly kind: 'exact' | 'regex'; readonly value: string };
}

export interface RouteMatch {
  readonly path: PathMatch;
  readonly method: string | null;
  readonly headers: readonly ValueMatch[];
  readonly query: readonly ValueMatch[];
}

export interface RoutePolicies {
  readonly cors: CorsPolicy | null;
  readonly jwtAuth: JwtAuthPolicy | null;
  /** HTTP `authorization` policy: CEL over request/jwt/source, one decision per request. */
  readonly authorization: RuleSetConfig | null;
  readonly mcpAuthorization: RuleSetConfig | null;
  readonly mcpAuthentication: McpAuthenticationPolicy | null;
  /** How upstream calls authenticate (`backendAuth`); null: nothing added. */
  readonly backendAuth: BackendAuthPolicy | null;
  /** Header fields changed on every upstream request / on every answer relayed. */
  readonly requestHeaderModifier: HeaderModifier | null;
  readonly responseHeaderModifier: HeaderModifier | null;
  readonly transformations: Transformations | null;
  readonly timeout: TimeoutPolicy | null;
  readonly retry: RetryPolicy | null;
  readonly localRateLimit: LocalRateLimitPolicy | null;
  readonly backendTls: BackendTlsPolicy | null;
}

/** `timeout`: the whole request until the answer's head (504 `request timeout`), and each
 * upstream attempt (504 `upstream call timeout`, which a retry may try again). */
export interface TimeoutPolicy {
  readonly requestTimeoutMs: number | null;
  readonly backendRequestTimeoutMs: number | null;
}

/** `retry`. `attempts` counts every try, the first included (agentgateway's documented meaning;
 * its code makes one try more). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number | null;
  readonly codes: readonly number[];
}

/** One token bucket of `localRateLimit`. */
export interface RateLimitSpec {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  /** CEL giving the bucket's key (Portcullis): each key its own bucket; null: one bucket for all */
  readonly key: string | null;
  /** CEL: this spec applies when true (the conditional form); null: always */
  readonly condition: string | null;
}

/** `all`: every spec is charged (a list); `first`: the first whose condition holds (conditional). */
export interface LocalRateLimitPolicy {
  readonly mode: 'all' | 'first';
  readonly specs: readonly RateLimitSpec[];
}

/** A backend's or target's `http`. */
export interface BackendHttpPolicy {
  /** each request to this upstream (an attempt), until the answer's head */
  readonly requestTimeoutMs: number | null;
}

/** `requestHeaderModifier` / `responseHeaderModifier`: static values, applied add → set → remove.
 * Names are lower case. */
export interface HeaderModifier {
  /** appended beside any copies already there */
  readonly add: ReadonlyArray<readonly [string, string]>;
  /** replacing every copy */
  readonly set: ReadonlyArray<readonly [string, string]>;
  readonly remove: readonly string[];
}

/** One side of `transformations`: header values computed by CEL (`x-user: jwt.sub`), applied
 * add → set → remove. A header whose expression fails is removed, never left as the client sent it. */
export interface HeaderTransform {
  readonly add: ReadonlyArray<readonly [string, string]>;
  readonly set: ReadonlyArray<readonly [string, string]>;
  readonly remove: readonly string[];
}

export interface Transformations {
  readonly request: HeaderTransform | null;
  readonly response: HeaderTransform | null;
}

/** What an MCP target's upstream requests carry, where agentgateway HEAD attaches it: on the
 * route, on a route's backend (`backends[].policies`), on one target (`mcp.targets[].policies`).
 * Per policy type, the target's replaces the backend's, which replaces the route's. */
export interface BackendPolicies {
  readonly backendAuth: BackendAuthPolicy | null;
  readonly requestHeaderModifier: HeaderModifier | null;
  readonly responseHeaderModifier: HeaderModifier | null;
  readonly transformations: Transformations | null;
  readonly http: BackendHttpPolicy | null;
  readonly backendTls: BackendTlsPolicy | null;
}

/** `backendTLS`: how an https upstream is verified and what the gateway presents to it. PEM
 * contents are read at load (`file` says from where). */
export interface BackendTlsPolicy {
  /** CA bundle trusted instead of the system roots */
  readonly root: SecretValue | null;
  /** client certificate and key (mutual TLS) */
  readonly cert: SecretValue | null;
  readonly key: SecretValue | null;
  /** SNI and the name verified, instead of the URL's host */
  readonly hostname: string | null;
  /** no verification at all */
  readonly insecure: boolean;
  /** the chain is verified, the name is not */
  readonly insecureHost: boolean;
}

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

export type BackendConfig = McpBackendConfig;

export interface McpBackendConfig {
  readonly kind: 'mcp';
  readonly weight: number;
  /** `backends[].policies` */
  readonly policies: BackendPolicies;
  readonly targets: readonly McpTargetConfig[];
  readonly statefulMode: 'stateful' | 'stateless';
  readonly prefixMode: 'conditional' | 'always';
}

export type McpTargetConfig =
  | { readonly name: string; readonly kind: 'mcp'; readonly url: string; readonly policies: BackendPolicies }
  | { readonly name: string; readonly kind: 'sse'; readonly url: string; readonly policies: BackendPolicies }
  | {
      readonly name: string;
      readonly kind: 'stdio';
      readonly cmd: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
    };

/** One problem in a config, named by its path (`binds[0].listeners[0]...`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}
