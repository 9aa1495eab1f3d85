// `routes[]` and their `matches[]` (agentgateway `LocalRoute`).

import { isHttpToken } from './http-syntax.js';
import { readBackends } from './read-backends.js';
import { readPolicies } from './read-policies.js';
import { type IssueList, type Item, MapReader, indexPath } from './schema-reader.js';
import type { PathMatch, RouteConfig, RouteMatch, ValueMatch } from './types.js';
import { errorText } from '../../protocol/errors.js';

const DEFAULT_PATH: PathMatch = { kind: 'prefix', value: '/' };
const DEFAULT_MATCHES: readonly RouteMatch[] = [{ path: DEFAULT_PATH, method: null, headers: [], query: [] }];

const ROUTE_KEYS = ['name', 'ruleName', 'hostnames', 'matches', 'policies', 'backends'];

/** What a route is apart from its names. */
export type RouteBody = Omit<RouteConfig, 'name' | 'named' | 'ruleName' | 'ruleKey'>;

/** A route of `binds[].listeners[].routes` (named as agentgateway v0.10.5 logs it: `route0`, `route0/default`). */
export function readRoute(issues: IssueList, item: Item, index: number, cwd: string): RouteConfig | undefined {
  const m = openRoute(issues, item);
  if (m === undefined) return undefined;
  const body = routeBody(m, cwd);
  const name = m.string('name', { nonEmpty: true });
  const ruleName = m.string('ruleName', { nonEmpty: true }) ?? 'default';
  const shown = name ?? `route${index}`;
  return { name: shown, named: name !== undefined, ruleName, ruleKey: `${shown}/${ruleName}`, ...body };
}

/** The route's mapping, with the keys of its form (`extra`) beside the common ones. */
export function openRoute(issues: IssueList, item: Item, extra: readonly string[] = []): MapReader | undefined {
  return MapReader.open(issues, item.path, item.value, { known: [...ROUTE_KEYS, ...extra] });
}

export function routeBody(m: MapReader, cwd: string): RouteBody {
  const { issues } = m;
  const { policies, needsSingleBackend } = readPolicies(issues, m.at('policies'), m.raw('policies'), cwd);
  const rawBackends = m.value('backends');
  const backends = rawBackends === undefined ? [] : readBackends(issues, m.at('backends'), rawBackends, cwd);
  const backendCount = Array.isArray(rawBackends) ? rawBackends.length : 0;
  if (needsSingleBackend && backendCount !== 1) {
    issues.add(m.at('backends'), 'backend policies currently only work with exactly 1 backend');
  }
  return {
    hostnames: m.stringList('hostnames') ?? [],
    matches: m.has('matches') ? readMatches(issues, m) : DEFAULT_MATCHES,
    policies,
    backends,
  };
}

function readMatches(issues: IssueList, route: MapReader): RouteMatch[] {
  const out: RouteMatch[] = [];
  for (const item of route.list('matches') ?? []) {
    const m = MapReader.open(issues, item.path, item.value, { known: ['path', 'method', 'headers', 'query'] });
    if (m === undefined) continue;
    const path = (m.has('path') ? readPathMatch(m) : undefined) ?? DEFAULT_PATH;
    const method = m.string('method') ?? null;
    if (method !== null && !isHttpToken(method)) issues.add(m.at('method'), 'expected an HTTP method');
    out.push({
      path,
      method,
      headers: readValueMatches(issues, m, 'headers'),
      query: readValueMatches(issues, m, 'query'),
    });
  }
  return out;
}

/** Exactly one of `{exact: s}`, `{pathPrefix: s}`, `{regex: [pattern, length]}`. */
function readPathMatch(match: MapReader): PathMatch | undefined {
  const m = match.map('path', { known: ['exact', 'pathPrefix', 'regex'] });
  const kind = m?.choice(['exact', 'pathPrefix', 'regex'] as const);
  if (m === undefined || kind === undefined) return undefined;

  if (kind === 'regex') {
    const v = m.value('regex', true);
    const pattern = Array.isArray(v) && v.length === 2 ? v[0] : undefined;
    const length: unknown = Array.isArray(v) ? v[1] : undefined;
    if (typeof pattern !== 'string' || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      if (v !== undefined) m.issues.add(m.at('regex'), 'expected [pattern, length] (a string and an integer)');
      return undefined;
    }
    return checkRegex(m.issues, indexPath(m.at('regex'), 0), pattern) ? { kind: 'regex', value: pattern } : undefined;
  }
  const value = m.string(kind, { required: true });
  if (value === undefined) return undefined;
  if (!value.startsWith('/')) {
    m.issues.add(m.at(kind), 'expected a path starting with "/"');
    return undefined;
  }
  return { kind: kind === 'exact' ? 'exact' : 'prefix', value };
}

/** `headers[]` / `query[]`: `{name, value: {exact|regex}}`. */
function readValueMatches(issues: IssueList, match: MapReader, key: 'headers' | 'query'): ValueMatch[] {
  const out: ValueMatch[] = [];
  for (const item of match.list(key) ?? []) {
    const m = MapReader.open(issues, item.path, item.value, { known: ['name', 'value'] });
    if (m === undefined) continue;
    const name = m.string('name', { required: true, nonEmpty: true });
    if (key === 'headers' && name !== undefined && !isHttpToken(name)) issues.add(m.at('name'), 'expected a header name');
    const v = m.map('value', { known: ['exact', 'regex'] }, true);
    const kind = v?.choice(['exact', 'regex'] as const);
    const value = kind === undefined ? undefined : v?.string(kind, { required: true });
    if (v === undefined || kind === undefined || value === undefined || name === undefined) continue;
    if (kind === 'regex' && !checkRegex(issues, v.at(kind), value)) continue;
    out.push({ name, value: { kind, value } });
  }
  return out;
}

function checkRegex(issues: IssueList, path: string, pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch (err: unknown) {
    issues.add(path, `invalid regular expression: ${errorText(err)}`);
    return false;
  }
}
