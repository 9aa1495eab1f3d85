// The normalised configuration: what the loader produces from agentgateway's YAML after
// expansion, validation and defaults. Everything here is plain data (no functions), so the
// parts the workers need can be copied into a WorkerInit as they are.

import type { BackendAuthPolicy, SecretValue } from './types-backend-auth.js';
import type { CorsPolicy, JwtAuthPolicy, McpAuthenticationPolicy, RuleSetConfig } from './types-identity.js';
import type {
  BackendPolicies,
  BackendTlsPolicy,
  HeaderModifier,
  LocalRateLimitPolicy,
  RetryPolicy,
  TimeoutPolicy,
  Transformations,
} from './types-upstream.js';

export type * from './types-backend-auth.js';
export type * from './types-identity.js';
export type * from './types-upstream.js';

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
  /** Which HTTP/1.1 client carries requests to Streamable HTTP upstreams (Portcullis only). */
  readonly upstreamClient: UpstreamClient;
}

/** `portcullis`: the gateway's own HTTP/1.1 client (src/main/upstream/h1); `undici`: undici's Pool. */
export type UpstreamClient = 'portcullis' | 'undici';
export const UPSTREAM_CLIENTS: readonly UpstreamClient[] = ['portcullis', 'undici'];

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
