// Counters and a latency histogram, rendered in the Prometheus text format. Names follow
// agentgateway's where one exists (`agentgateway_requests_total` → `portcullis_requests_total`).

import type { CacheCounts } from '../../protocol/worker-contract.js';

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Series per counter; past it, new label sets count under `{overflow="true"}`. */
const maxSeries = 10_000;
const overflowKey = '{overflow="true"}';

class Counter {
  readonly #values = new Map<string, number>();
  /** label values → label text: formatting labels per increment showed in profiles */
  readonly #keys = new Map<string, string>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    let id = '';
    for (const k in labels) id += `${k}\u0000${labels[k] ?? ''}\u0000`;
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = labelText(labels);
      if (this.#keys.size < maxSeries) this.#keys.set(id, key);
    }
    // Labels come from config and fixed sets; should one ever carry a caller's text, memory and
    // the scrape stay bounded all the same.
    if (!this.#values.has(key) && this.#values.size >= maxSeries) key = overflowKey;
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.#values) out += `${this.name}${k} ${v}\n`;
    return out;
  }
}

const bucketsMs = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

class Histogram {
  readonly #counts = new Array<number>(bucketsMs.length + 1).fill(0);
  #sum = 0;
  #count = 0;
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  observe(ms: number): void {
    let i = 0;
    while (i < bucketsMs.length && ms > (bucketsMs[i] ?? Infinity)) i++;
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#sum += ms / 1000;
    this.#count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    bucketsMs.forEach((b, i) => {
      cumulative += this.#counts[i] ?? 0;
      out += `${this.name}_bucket{le="${b / 1000}"} ${cumulative}\n`;
    });
    cumulative += this.#counts[bucketsMs.length] ?? 0;
    out += `${this.name}_bucket{le="+Inf"} ${cumulative}\n${this.name}_sum ${this.#sum}\n${this.name}_count ${this.#count}\n`;
    return out;
  }
}

function cacheCounter(name: string, help: string, c: CacheCounts): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name}{result="hit"} ${c.hits}\n${name}{result="miss"} ${c.misses}\n`;
}

export class Metrics {
  readonly requests = new Counter('portcullis_requests_total', 'HTTP requests by route and status');
  readonly mcpRequests = new Counter('portcullis_mcp_requests_total', 'MCP messages by method');
  readonly jwt = new Counter('portcullis_jwt_verifications_total', 'Token checks by outcome (ok or the reason a token was refused)');
  readonly mcpDenied = new Counter('portcullis_mcp_denied_total', 'Calls refused by mcpAuthorization, by resource type');
  readonly ruleErrors = new Counter('portcullis_cel_rule_errors_total', 'CEL rule evaluations that failed (counted as false)');
  readonly upstreamErrors = new Counter('portcullis_upstream_errors_total', 'Upstream calls that failed before a response');
  readonly backendAuth = new Counter('portcullis_backend_auth_total', 'Upstream calls by how their backendAuth credential was had (static, passthrough, cache_hit, exchanged) or why it was refused');
  readonly transformErrors = new Counter('portcullis_transformation_errors_total', 'Transformation expressions that failed (the header was removed), by header');
  readonly rateLimited = new Counter('portcullis_rate_limited_total', 'Requests refused (429) by a route\'s localRateLimit');
  readonly callerLimited = new Counter('portcullis_upstream_caller_limited_total', 'Requests refused because their caller held the most calls or streams it may of one upstream, by kind');
  readonly reloads = new Counter('portcullis_config_reloads_total', 'Config reloads by result');
  readonly jwksRefreshes = new Counter('portcullis_jwks_refreshes_total', 'Remote JWKS fetches by result and reason');
  readonly duration = new Histogram('portcullis_request_duration_seconds', 'Request duration, whole response');
  /** Cache lookups: plain numbers the caches bump themselves (no label work on the hot path). */
  readonly tokenCache: CacheCounts = { hits: 0, misses: 0 };
  readonly listCache: CacheCounts = { hits: 0, misses: 0 };
  readonly backendTokenCache: CacheCounts = { hits: 0, misses: 0 };
  readonly #read = new Map<string, { type: 'gauge' | 'counter'; help: string; read: () => number }>();

  /** A value read when the metrics are rendered. */
  gauge(name: string, help: string, read: () => number): void {
    this.#read.set(name, { type: 'gauge', help, read });
  }

  /** A count kept elsewhere (it only grows), read when the metrics are rendered. */
  counterOf(name: string, help: string, read: () => number): void {
    this.#read.set(name, { type: 'counter', help, read });
  }

  render(): string {
    let out = '';
    for (const c of [this.requests, this.mcpRequests, this.jwt, this.mcpDenied, this.ruleErrors, this.upstreamErrors, this.rateLimited, this.callerLimited, this.backendAuth, this.transformErrors, this.reloads, this.jwksRefreshes]) out += c.render();
    out += this.duration.render();
    out += cacheCounter('portcullis_token_cache_lookups_total', 'Verified-token cache lookups by result (a miss is a signature check)', this.tokenCache);
    out += cacheCounter('portcullis_backend_token_cache_lookups_total', 'Exchanged-token cache lookups by result (a miss is a call to a token endpoint)', this.backendTokenCache);
    out += cacheCounter('portcullis_list_cache_lookups_total', 'Filtered-list cache lookups by result (a miss is a full scan and a CEL decision per item)', this.listCache);
    for (const [name, g] of this.#read) out += `# HELP ${name} ${g.help}\n# TYPE ${name} ${g.type}\n${name} ${g.read()}\n`;
    return out;
  }
}
