// What shapes a call to an upstream: traffic policies (timeout, retry, rate limits), header
// edits and backendTLS. Part of the normalised configuration (types.ts re-exports it).

import type { BackendAuthPolicy, SecretValue } from './types-backend-auth.js';

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
  /** `pipelining` (Portcullis): calls sent pipelined on a few connections; null: one call per
   * connection at a time (the default) */
  readonly pipelining: PipeliningPolicy | null;
}

/** `http.pipelining`: the target's calls (POSTs) share `connections` HTTP/1.1 connections, each
 * carrying up to `depth` of them at once, answered in order. */
export interface PipeliningPolicy {
  readonly connections: number;
  readonly depth: number;
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
