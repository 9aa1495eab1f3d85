// Route traffic policies as agentgateway HEAD writes them: `timeout` (requestTimeout,
// backendRequestTimeout), `retry` (attempts, backoff, codes) and `localRateLimit` (token buckets,
// a list or `{conditional: [...]}`), plus a backend's or target's `http: {requestTimeout}` and
// Portcullis's `http.pipelining`.
// Portcullis adds `key` to a rate limit: a CEL expression giving each key its own bucket.

import { celRuleProblem, celValueProblem } from './cel-check.js';
import { parseDurationMs } from './duration.js';
import { type IssueList, MapReader, asList, isPlainObject } from './schema-reader.js';
import type { BackendHttpPolicy, LocalRateLimitPolicy, PipeliningPolicy, RateLimitSpec, RetryPolicy, TimeoutPolicy } from './types.js';

/** agentgateway's bound on conditional rate limit entries. */
const MAX_CONDITIONAL = 64;

function duration(m: MapReader, key: string, required = false): number | null | undefined {
  const text = m.string(key, { required });
  if (text === undefined) return m.has(key) || required ? undefined : null;
  const ms = parseDurationMs(text);
  if (ms === undefined) m.issues.add(m.at(key), 'expected a duration such as 500ms, 30s or 1m30s');
  return ms;
}

export function readTimeout(issues: IssueList, path: string, value: unknown): TimeoutPolicy | undefined {
  const m = MapReader.open(issues, path, value, { known: ['requestTimeout', 'backendRequestTimeout'] });
  if (m === undefined) return undefined;
  const requestTimeoutMs = duration(m, 'requestTimeout');
  const backendRequestTimeoutMs = duration(m, 'backendRequestTimeout');
  if (requestTimeoutMs === undefined || backendRequestTimeoutMs === undefined) return undefined;
  return { requestTimeoutMs, backendRequestTimeoutMs };
}

export function readRetry(issues: IssueList, path: string, value: unknown): RetryPolicy | undefined {
  const m = MapReader.open(issues, path, value, { known: ['attempts', 'backoff', 'codes'], unsupported: ['precondition', 'condition'] });
  if (m === undefined) return undefined;
  const attempts = m.integer('attempts', { min: 1, max: 255 }) ?? (m.has('attempts') ? undefined : 1);
  const backoffMs = duration(m, 'backoff');
  const items = m.list('codes', true);
  const codes: number[] = [];
  items?.forEach((item) => {
    if (typeof item.value === 'number' && Number.isInteger(item.value) && item.value >= 100 && item.value <= 599) codes.push(item.value);
    else issues.add(item.path, 'expected an HTTP status code (100 to 599)');
  });
  if (attempts === undefined || backoffMs === undefined || items === undefined) return undefined;
  return { attempts, backoffMs, codes };
}

/** A list of specs, or `{conditional: [{condition?, ...spec}]}` (the first whose condition holds). */
export function readLocalRateLimit(issues: IssueList, path: string, value: unknown): LocalRateLimitPolicy | undefined {
  if (isPlainObject(value)) {
    const m = MapReader.open(issues, path, value, { known: ['conditional'] });
    const items = m?.list('conditional', true);
    if (m === undefined || items === undefined) return undefined;
    if (items.length > MAX_CONDITIONAL) issues.add(m.at('conditional'), `at most ${MAX_CONDITIONAL} entries`);
    const specs: RateLimitSpec[] = [];
    items.forEach((item, i) => {
      const spec = readSpec(issues, item.path, item.value, true);
      if (spec === undefined) return;
      if (spec.condition === null && i < items.length - 1) issues.add(item.path, 'an entry without a condition must come last');
      specs.push(spec);
    });
    return specs.length === items.length ? { mode: 'first', specs } : undefined;
  }
  const items = asList(issues, path, value);
  if (items === undefined) return undefined;
  const specs = items.map((item) => readSpec(issues, item.path, item.value, false));
  const ok = specs.filter((s): s is RateLimitSpec => s !== undefined);
  return ok.length === specs.length ? { mode: 'all', specs: ok } : undefined;
}

function readSpec(issues: IssueList, path: string, value: unknown, conditional: boolean): RateLimitSpec | undefined {
  const m = MapReader.open(issues, path, value, { known: ['maxTokens', 'tokensPerFill', 'fillInterval', 'type', 'key', ...(conditional ? ['condition'] : [])] });
  if (m === undefined) return undefined;
  const maxTokens = m.integer('maxTokens', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? (m.has('maxTokens') ? undefined : 0);
  const tokensPerFill = m.integer('tokensPerFill', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? (m.has('tokensPerFill') ? undefined : 0);
  const fillIntervalMs = duration(m, 'fillInterval', true);
  if (fillIntervalMs === 0) issues.add(m.at('fillInterval'), 'must be longer than 0');
  if (m.has('type') && m.raw('type') !== 'requests') issues.add(m.at('type'), m.raw('type') === 'tokens' ? 'LLM token limits are not supported by Portcullis' : 'expected requests');
  if (maxTokens !== undefined && tokensPerFill !== undefined && maxTokens < tokensPerFill) issues.add(m.at('maxTokens'), `must be at least tokensPerFill (${tokensPerFill})`);
  const key = cel(m, 'key', celValueProblem);
  const condition = cel(m, 'condition', celRuleProblem);
  if (maxTokens === undefined || tokensPerFill === undefined || fillIntervalMs === undefined || fillIntervalMs === null || fillIntervalMs === 0) return undefined;
  if (key === undefined || condition === undefined) return undefined;
  return { maxTokens, tokensPerFill, fillIntervalMs, key, condition };
}

function cel(m: MapReader, key: string, problemOf: (expr: string) => string | null): string | null | undefined {
  const expr = m.string(key, { nonEmpty: true });
  if (expr === undefined) return m.has(key) ? undefined : null;
  const problem = problemOf(expr);
  if (problem !== null) m.issues.add(m.at(key), problem);
  return problem === null ? expr : undefined;
}

/** A backend's or target's `http: {requestTimeout, pipelining}` (agentgateway's `version` is not
 * supported; `pipelining` is Portcullis's). */
export function readBackendHttp(issues: IssueList, path: string, value: unknown): BackendHttpPolicy | undefined {
  const m = MapReader.open(issues, path, value, { known: ['requestTimeout', 'pipelining'], unsupported: ['version'] });
  if (m === undefined) return undefined;
  const requestTimeoutMs = duration(m, 'requestTimeout');
  const pipelining = m.has('pipelining') ? readPipelining(m) : null;
  return requestTimeoutMs === undefined || pipelining === undefined ? undefined : { requestTimeoutMs, pipelining };
}

/** Most connections and calls per connection a pipelined target may ask for. */
export const PIPELINING_LIMITS = { connections: 64, depth: 128 } as const;

/** `pipelining: {connections, depth}`: both required; a depth of 1 would not pipeline. */
function readPipelining(m: MapReader): PipeliningPolicy | undefined {
  const p = m.map('pipelining', { known: ['connections', 'depth'] });
  if (p === undefined) return undefined;
  const connections = p.integer('connections', { min: 1, max: PIPELINING_LIMITS.connections }, true);
  const depth = p.integer('depth', { min: 2, max: PIPELINING_LIMITS.depth }, true);
  return connections === undefined || depth === undefined ? undefined : { connections, depth };
}

