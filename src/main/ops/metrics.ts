// The gateway's metrics, one prom-client Registry per gateway (several can run in one process;
// prom-client's global default registry is never used). Names follow agentgateway's where one
// exists (`agentgateway_requests_total` → `portcullis_requests_total`). Every label value comes
// from config (route and target names, tool names that rules name), a fixed set (outcomes,
// methods through methodLabel) or an HTTP status: series stay bounded whatever callers send.

import { Counter, Gauge, Registry } from 'prom-client';
import type { CacheCounts } from '../../protocol/worker-contract.js';
import { methodLabel } from '../../protocol/mcp.js';
import { CounterFamily, HistogramFamily, LastCell } from './metric-families.js';
import { registerProcessMetrics, type ProcessMetrics } from './process-metrics.js';

/** What the end of a request tells the metrics: the access record's fields. */
export interface FinishedRequest {
  readonly route: string;
  readonly status: number;
  readonly startedAt: number;
  /** when the response ended (performance.now() ms) */
  readonly endedAt: number;
  readonly mcpMethod: string | undefined;
  readonly mcpTarget: string | undefined;
  readonly mcpResourceType: string | undefined;
  readonly mcpResourceName: string | undefined;
  readonly error: string | undefined;
  /** mcpAuthorization refused the call */
  readonly denied: boolean;
}

/** Per route name: the labels its requests may carry beyond the route's own. */
export interface RouteLabels {
  /** tool names some mcpAuthorization rule of the route names in a string literal */
  readonly tools: ReadonlySet<string>;
  /** the route's target when it has exactly one (a request then names none itself) */
  readonly soleTarget: string | null;
}

/** The labels of each route name: routes of one name (in several listeners) share series, so
 * they share tool names; a target counts as the route's sole one only if it is for them all. */
export function routeLabelsOf(routes: Iterable<{ readonly name: string; readonly toolNames: ReadonlySet<string>; readonly targets: readonly string[] }>): Map<string, RouteLabels> {
  const out = new Map<string, { tools: Set<string>; soleTarget: string | null }>();
  for (const r of routes) {
    const sole = r.targets.length === 1 ? (r.targets[0] ?? null) : null;
    const seen = out.get(r.name);
    if (seen === undefined) out.set(r.name, { tools: new Set(r.toolNames), soleTarget: sole });
    else {
      for (const t of r.toolNames) seen.tools.add(t);
      if (seen.soleTarget !== sole) seen.soleTarget = null;
    }
  }
  return out;
}

export type ToolOutcome = 'allowed' | 'denied' | 'error';

const noLabels: RouteLabels = { tools: new Set(), soleTarget: null };

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new CounterFamily(this.registry, 'portcullis_requests_total', 'HTTP requests by route and status', ['route', 'status']);
  readonly duration = new HistogramFamily(this.registry, 'portcullis_request_duration_seconds', 'Request duration, whole response', []);
  readonly mcpRequests = new CounterFamily(this.registry, 'portcullis_mcp_requests_total', 'MCP messages by method', ['method']);
  readonly mcpDuration = new HistogramFamily(
    this.registry,
    'portcullis_mcp_request_duration_seconds',
    'MCP request duration, whole response, by route, target (empty when the request went to several) and method',
    ['route', 'target', 'method'],
  );
  readonly toolCalls = new CounterFamily(
    this.registry,
    'portcullis_mcp_tool_calls_total',
    'tools/call by route, target, tool (named when a rule of the route names it, else other) and outcome (allowed, denied, error)',
    ['route', 'target', 'tool', 'outcome'],
  );
  readonly jwt = new CounterFamily(this.registry, 'portcullis_jwt_verifications_total', 'Token checks by outcome (ok or the reason a token was refused)', ['outcome']);
  readonly mcpDenied = new CounterFamily(this.registry, 'portcullis_mcp_denied_total', 'Calls refused by mcpAuthorization, by resource type', ['type']);
  readonly ruleErrors = new CounterFamily(this.registry, 'portcullis_cel_rule_errors_total', 'CEL rule evaluations that failed (counted as false)', []);
  readonly upstreamErrors = new CounterFamily(this.registry, 'portcullis_upstream_errors_total', 'Upstream calls that failed before a response', []);
  readonly callerLimited = new CounterFamily(
    this.registry,
    'portcullis_upstream_caller_limited_total',
    'Requests refused because their caller held the most calls or streams it may of one upstream, by kind',
    ['kind'],
  );
  readonly reloads = new CounterFamily(this.registry, 'portcullis_config_reloads_total', 'Config reloads by result', ['result']);
  readonly jwksRefreshes = new CounterFamily(this.registry, 'portcullis_jwks_refreshes_total', 'Remote JWKS fetches by result and reason', ['result', 'reason']);
  readonly backendAuth = new CounterFamily(
    this.registry,
    'portcullis_backend_auth_total',
    'Upstream calls by how their backendAuth credential was had (static, passthrough, cache_hit, exchanged) or why it was refused',
    ['route', 'target', 'outcome'],
  );
  readonly transformErrors = new CounterFamily(
    this.registry,
    'portcullis_transformation_errors_total',
    'Transformation expressions that failed (the header was removed), by header',
    ['route', 'target', 'header'],
  );
  readonly rateLimited = new CounterFamily(this.registry, 'portcullis_rate_limited_total', "Requests refused (429) by a route's localRateLimit", ['route']);
  readonly accessLogErrors = new CounterFamily(
    this.registry,
    'portcullis_access_log_cel_errors_total',
    'config.logging CEL evaluations that failed, by field (the field left out; `filter`: the line left out)',
    ['field'],
  );
  /** Cache lookups: plain numbers the caches bump themselves (no label work on the hot path). */
  readonly tokenCache: CacheCounts = { hits: 0, misses: 0 };
  readonly listCache: CacheCounts = { hits: 0, misses: 0 };
  readonly backendTokenCache: CacheCounts = { hits: 0, misses: 0 };
  #process: ProcessMetrics | null = null;
  #routes: ReadonlyMap<string, RouteLabels> = new Map();
  // The series each finished request counts in, as the last one's (requestDone).
  readonly #durationCell = this.duration.cell({});
  readonly #requestsCell = new LastCell((route, status) => this.requests.cell({ route, status }));
  readonly #mcpRequestsCell = new LastCell((method) => this.mcpRequests.cell({ method }));
  readonly #mcpDurationCell = new LastCell((route, target, method) => this.mcpDuration.cell({ route, target, method }));
  readonly #toolCallsCell = new LastCell((route, target, tool, outcome) => this.toolCalls.cell({ route, target, tool, outcome }));

  constructor(version: string) {
    this.#cacheCounter('portcullis_token_cache_lookups_total', 'Verified-token cache lookups by result (a miss is a signature check)', this.tokenCache);
    this.#cacheCounter('portcullis_list_cache_lookups_total', 'Filtered-list cache lookups by result (a miss is a full scan and a CEL decision per item)', this.listCache);
    this.#cacheCounter(
      'portcullis_backend_token_cache_lookups_total',
      'Exchanged-token cache lookups by result (a miss is a call to a token endpoint)',
      this.backendTokenCache,
    );
    this.gauge('portcullis_build_info', 'The gateway version, as the label', () => 1, { version });
  }

  /** Adds the process's figures (CPU, memory, event-loop delay, GC); close() stops their
   * sampling. Once, when the gateway has started: a start that fails leaves nothing running. */
  watchProcess(): void {
    this.#process ??= registerProcessMetrics(this.registry);
  }

  /** A value read when the metrics are rendered. */
  gauge(name: string, help: string, read: () => number, labels: Readonly<Record<string, string>> = {}): void {
    new Gauge({
      name,
      help,
      labelNames: Object.keys(labels),
      registers: [this.registry],
      collect() {
        this.set(labels, read());
      },
    });
  }

  /** A count kept elsewhere (it only grows), read when the metrics are rendered. */
  counterOf(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  #cacheCounter(name: string, help: string, counts: CacheCounts): void {
    new Counter({
      name,
      help,
      labelNames: ['result'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, counts.hits);
        this.inc({ result: 'miss' }, counts.misses);
      },
    });
  }

  /** The labels of each route name of the config in use (replaced on reload). */
  setRoutes(routes: ReadonlyMap<string, RouteLabels>): void {
    this.#routes = routes;
  }

  /** Counts an MCP message the gateway has handled, by its method. */
  mcpRequestDone(mcpMethod: string): void {
    this.#mcpRequestsCell.get(methodLabel(mcpMethod)).value++;
  }

  /** Counts a request whose response has ended. */
  requestDone(r: FinishedRequest): void {
    const seconds = (r.endedAt - r.startedAt) / 1000;
    this.#requestsCell.get(r.route, String(r.status)).value++;
    this.duration.observeIn(this.#durationCell, seconds);
    if (r.mcpMethod === undefined) return;
    const route = this.#routes.get(r.route) ?? noLabels;
    const method = methodLabel(r.mcpMethod);
    const target = r.mcpTarget ?? route.soleTarget ?? '';
    this.mcpDuration.observeIn(this.#mcpDurationCell.get(r.route, target, method), seconds);
    if (r.mcpMethod === 'tools/call' && r.mcpResourceType === 'tool' && r.mcpResourceName !== undefined) {
      const tool = route.tools.has(r.mcpResourceName) ? r.mcpResourceName : 'other';
      this.#toolCallsCell.get(r.route, r.mcpTarget ?? '', tool, toolOutcome(r)).value++;
    }
  }

  /** The Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops what samples in the background (event-loop delay, GC). */
  close(): void {
    this.#process?.close();
  }
}

function toolOutcome(r: FinishedRequest): ToolOutcome {
  if (r.denied) return 'denied';
  // No target: a prefixed name that names none of the route's targets.
  if (r.error !== undefined || r.status === 0 || r.status >= 400 || r.mcpTarget === undefined) return 'error';
  return 'allowed';
}
