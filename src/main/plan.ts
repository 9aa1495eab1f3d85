// Config → runtime plan: everything that depends only on the config is computed here once
// (route matchers, CORS header strings, provider and rule-set ids, the WorkerInit), so the
// request path does lookups, not parsing.

import { createHash } from 'node:crypto';
import type {
  BackendPolicies, GatewayConfig, LocalRateLimitPolicy, RetryPolicy, JwtAuthPolicy, JwtProviderConfig, ListenerConfig, McpAuthenticationPolicy, McpBackendConfig, PathMatch,
  RouteConfig, RouteMatch, RuleSetConfig, TokenLocation, ValueMatch,
} from './config/types.js';
import type { ProviderSetInit, PublicJwk, RuleSetInit, WorkerInit } from '../protocol/worker-contract.js';
import { compileCors, type CompiledCors } from './policy/cors.js';
import { routeUpstreamPolicies } from './upstream/target-policies.js';
import { ruleToolNames } from './ops/tool-labels.js';

export interface CompiledMatch {
  readonly path: PathMatch;
  readonly regex: RegExp | null;
  readonly method: string | null;
  readonly headers: ReadonlyArray<{ readonly name: string; readonly test: (v: string) => boolean }>;
  readonly query: ReadonlyArray<{ readonly name: string; readonly test: (v: string) => boolean }>;
}

export interface RuleSetRef {
  readonly id: number;
  /** whether any rule reads `request` / `source`: only then are they put in the CEL context */
  readonly usesRequest: boolean;
  readonly usesSource: boolean;
}

export interface RoutePlan {
  readonly name: string;
  /** `route0/default`, as logged; '' when the access log leaves route_rule out */
  readonly ruleKey: string;
  /** bind, listener and route (see withScopeParts): MCP sessions opened on this route are valid only on it */
  readonly sessionScope: string;
  readonly hostnames: readonly string[];
  readonly matches: readonly CompiledMatch[];
  readonly cors: CompiledCors | null;
  readonly jwt: {
    readonly mode: 'strict' | 'optional' | 'permissive';
    readonly providerSet: number;
    readonly location: TokenLocation;
    /** the providers, for their remote key sources */
    readonly providers: readonly JwtProviderConfig[];
  } | null;
  /** set when the JWT policy comes from `mcpAuthentication`: challenges point at the metadata */
  readonly mcpAuthentication: McpAuthenticationPolicy | null;
  readonly authorization: RuleSetRef | null;
  readonly mcpAuthorization: RuleSetRef | null;
  readonly backend: McpBackendConfig | null;
  /** the route's own policies for its upstream requests (its targets may override them) */
  readonly upstreamPolicies: BackendPolicies;
  /** `timeout.requestTimeout`, ms */
  readonly requestTimeoutMs: number | null;
  readonly retry: RetryPolicy | null;
  readonly localRateLimit: LocalRateLimitPolicy | null;
  /** tool names the route's mcpAuthorization rules name: the tool label of its metrics */
  readonly toolNames: ReadonlySet<string>;
}

export interface ListenerPlan {
  readonly name: string;
  readonly gatewayName: string;
  readonly hostname: string | null;
  readonly routes: readonly RoutePlan[];
}

export interface BindPlan {
  readonly port: number;
  readonly name: string;
  readonly listeners: readonly ListenerPlan[];
  /** query parameters any route of the bind reads a token from: redacted in the access log,
   * whichever route (or none) the request lands on */
  readonly tokenQueryNames: readonly string[];
}

export interface GatewayPlan {
  readonly binds: readonly BindPlan[];
  readonly init: WorkerInit;
  /** an empty rule set (allows everything): renames list items on routes without mcpAuthorization */
  readonly allowAllRuleSet: number;
}

/** agentgateway's default leeway (jsonwebtoken's), kept as the verifier's default. */
export const defaultLeewaySeconds = 60;

function valueTest(m: ValueMatch): { name: string; test: (v: string) => boolean } {
  if (m.value.kind === 'exact') {
    const want = m.value.value;
    return { name: m.name.toLowerCase(), test: (v) => v === want };
  }
  const re = new RegExp(`^(?:${m.value.value})$`);
  return { name: m.name.toLowerCase(), test: (v) => re.test(v) };
}

function compileMatch(m: RouteMatch): CompiledMatch {
  return {
    path: m.path,
    regex: m.path.kind === 'regex' ? new RegExp(`^(?:${m.path.value})$`) : null,
    method: m.method === null ? null : m.method.toUpperCase(),
    headers: m.headers.map(valueTest),
    query: m.query.map(valueTest),
  };
}

function readsRoot(rules: RuleSetConfig, root: string): boolean {
  const re = new RegExp(`\\b${root}\\b`);
  return rules.rules.some((r) => re.test(r.expr));
}

/** Current keys of a provider: loaded at config time, or the last fetch of a remote JWKS. */
export type KeysOf = (provider: JwtProviderConfig) => readonly PublicJwk[];

const bearerHeader: TokenLocation = { kind: 'header', name: 'authorization', prefix: 'Bearer ' };

/** `mcpAuthentication` brings its own JWT policy (agentgateway HEAD: strict by default). */
function effectiveJwt(r: RouteConfig): JwtAuthPolicy | null {
  const p = r.policies;
  if (p.jwtAuth !== null) return p.jwtAuth;
  const a = p.mcpAuthentication;
  if (a === null) return null;
  return {
    mode: a.mode,
    providers: [{ issuer: a.issuer, audiences: a.audiences, jwksSource: a.jwksSource, keys: a.keys }],
    leewaySeconds: defaultLeewaySeconds,
    requiredClaims: ['exp'],
    location: bearerHeader,
  };
}

/** A digest of what an unnamed listener or route serves. */
function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);
}

/**
 * What each member of a list is known by in session scopes: its name when the config gives one
 * (with the qualifier that, like in agentgateway, tells two of a name apart), else a digest of
 * what it serves: a default name is a position, and a reload that reorders the list would hand
 * one member's sessions to another. Load refuses two members of one name; should two unnamed ones
 * serve the same (only the first is ever selected), the later ones are still told apart.
 */
function withScopeParts<T>(members: readonly T[], part: (member: T) => string): Array<readonly [T, string]> {
  const seen = new Map<string, number>();
  return members.map((member) => {
    const p = part(member);
    const n = seen.get(p) ?? 0;
    seen.set(p, n + 1);
    return [member, n === 0 ? p : `${p}\u0002${n}`];
  });
}

/** An unnamed listener is known by the hostname it is selected by. */
function listenerPart(l: ListenerConfig, bindName: string): string {
  if (!l.named) return `\u0001${digest([l.hostname])}`;
  return l.gatewayName === bindName ? l.name : `${l.name}\u0000${l.gatewayName}`;
}

/** An unnamed route is known by what selects it and where it leads. */
function routePart(r: RouteConfig): string {
  if (!r.named) return `\u0001${digest([r.ruleName, r.hostnames, r.matches, r.backends])}`;
  return r.ruleName === 'default' ? r.name : `${r.name}\u0000${r.ruleName}`;
}

export function buildPlan(config: GatewayConfig, generation: number, keysOf: KeysOf = (p) => p.keys): GatewayPlan {
  const providerSets: ProviderSetInit[] = [];
  const ruleSets: RuleSetInit[] = [{ id: 0, rules: [] }];

  function ruleSet(rules: RuleSetConfig | null): RuleSetRef | null {
    if (rules === null) return null;
    const id = ruleSets.length;
    ruleSets.push({ id, rules: rules.rules.map((r) => ({ kind: r.kind, expr: r.expr })) });
    return { id, usesRequest: readsRoot(rules, 'request'), usesSource: readsRoot(rules, 'source') };
  }

  function route(r: RouteConfig, sessionScope: string): RoutePlan {
    const p = r.policies;
    let jwt: RoutePlan['jwt'] = null;
    const policy = effectiveJwt(r);
    if (policy !== null) {
      const id = providerSets.length;
      providerSets.push({
        id,
        leewaySeconds: policy.leewaySeconds,
        requiredClaims: policy.requiredClaims,
        providers: policy.providers.map((pr) => ({ issuer: pr.issuer, audiences: pr.audiences, keys: keysOf(pr) })),
      });
      jwt = { mode: policy.mode, providerSet: id, location: policy.location, providers: policy.providers };
    }
    const backend = r.backends[0] ?? null;
    return {
      name: r.name,
      ruleKey: r.ruleKey ?? '',
      sessionScope,
      hostnames: r.hostnames,
      matches: r.matches.map(compileMatch),
      cors: p.cors === null ? null : compileCors(p.cors, backend !== null),
      jwt,
      mcpAuthentication: p.jwtAuth === null ? p.mcpAuthentication : null,
      authorization: ruleSet(p.authorization),
      mcpAuthorization: ruleSet(p.mcpAuthorization),
      backend,
      upstreamPolicies: routeUpstreamPolicies(p),
      requestTimeoutMs: p.timeout?.requestTimeoutMs ?? null,
      retry: p.retry,
      localRateLimit: p.localRateLimit,
      toolNames: ruleToolNames(p.mcpAuthorization),
    };
  }

  const binds = config.binds.map((b): BindPlan => {
    const listeners = withScopeParts(b.listeners, (l) => listenerPart(l, b.name)).map(([l, listenerScope]) => ({
      name: l.name,
      gatewayName: l.gatewayName,
      hostname: l.hostname,
      routes: withScopeParts(l.routes, routePart).map(([r, routeScope]) =>
        route(r, `${b.name}\u0000${listenerScope}\u0000${routeScope}`),
      ),
    }));
    const tokenQueryNames = new Set<string>();
    for (const l of listeners) {
      for (const r of l.routes) if (r.jwt?.location.kind === 'queryParameter') tokenQueryNames.add(r.jwt.location.name);
    }
    return { port: b.port, name: b.name, listeners, tokenQueryNames: [...tokenQueryNames] };
  });
  return { binds, init: { generation, providerSets, ruleSets, listCacheChars: config.runtime.listCacheBytes }, allowAllRuleSet: 0 };
}
