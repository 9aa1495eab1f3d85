// The normalised configuration: what the loader produces from agentgateway's YAML after
// expansion, validation and defaults. Everything here is plain data (no functions), so the
// parts the workers need can be copied into a WorkerInit as they are.

import type { PublicJwk } from '../../protocol/worker-contract.js';

export type LogFormat = 'text' | 'json';

/** Top-level `config:` block: runtime settings, read at start only (as agentgateway). */
export interface RuntimeSettings {
  /** Worker threads in the pool; 0 runs the same functions inline on the main thread. */
  readonly workers: number;
  readonly logFormat: LogFormat;
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
}

export interface GatewayConfig {
  readonly runtime: RuntimeSettings;
  readonly binds: readonly BindConfig[];
}

export interface BindConfig {
  readonly port: number;
  /** `bind/<port>` */
  readonly name: string;
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
  readonly routes: readonly RouteConfig[];
}

export interface RouteConfig {
  /** default `route<idx>` */
  readonly name: string;
  /** false when `name` is the default, which names a position in the list, not the route */
  readonly named: boolean;
  /** default `default` */
  readonly ruleName: string;
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
  /** `backendAuth: { passthrough: {} }` puts the verified bearer token back on upstream calls. */
  readonly backendAuthPassthrough: boolean;
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
  | { readonly kind: 'url'; readonly url: string }
  /** OIDC discovery: `<issuer>/.well-known/openid-configuration` → `jwks_uri` */
  | { readonly kind: 'discovery' };

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
  readonly targets: readonly McpTargetConfig[];
  readonly statefulMode: 'stateful' | 'stateless';
  readonly prefixMode: 'conditional' | 'always';
}

export type McpTargetConfig =
  | { readonly name: string; readonly kind: 'mcp'; readonly url: string }
  | { readonly name: string; readonly kind: 'sse'; readonly url: string }
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
