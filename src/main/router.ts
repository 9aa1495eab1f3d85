// Listener and route selection (agentgateway's precedence, simplified to what the config
// supports): hostname, then exact path, then the longest prefix, then regex; then method,
// header and query matches; ties go to the first route listed.

import { decodeComponent, joinedHeader, type RequestSnapshot } from './http/request.js';
import type { CompiledMatch, ListenerPlan, RoutePlan } from './plan.js';

export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
  return p === h;
}

export function selectListener(listeners: readonly ListenerPlan[], host: string): ListenerPlan | null {
  let wildcard: ListenerPlan | null = null;
  for (const l of listeners) {
    if (l.hostname === null) wildcard ??= l;
    else if (hostMatches(l.hostname, host)) return l;
  }
  return wildcard;
}

function pathScore(m: CompiledMatch, path: string): number {
  const p = m.path;
  if (p.kind === 'exact') return path === p.value ? 1_000_000 : -1;
  if (p.kind === 'regex') return m.regex !== null && m.regex.test(path) ? 1 : -1;
  // Prefix on segment boundaries, ignoring a trailing slash.
  const prefix = p.value.endsWith('/') && p.value.length > 1 ? p.value.slice(0, -1) : p.value;
  if (prefix === '/' || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) {
    return 2 + prefix.length;
  }
  return -1;
}

/** The first value of `name` in the query; a pair that does not decode is no match. */
function queryValue(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (decodeComponent(eq < 0 ? part : part.slice(0, eq)) !== name) continue;
    if (eq < 0) return '';
    const value = decodeComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    if (value !== null) return value;
  }
  return undefined;
}

function matchScore(m: CompiledMatch, req: RequestSnapshot): number {
  let score = pathScore(m, req.path);
  if (score < 0) return -1;
  score *= 1000;
  if (m.method !== null) {
    if (m.method !== req.method) return -1;
    score += 100;
  }
  for (const h of m.headers) {
    const v = joinedHeader(req.headers, h.name);
    if (v === undefined || !h.test(v)) return -1;
    score += 10;
  }
  for (const q of m.query) {
    const v = queryValue(req.query, q.name);
    if (v === undefined || !q.test(v)) return -1;
    score += 1;
  }
  return score;
}

export function selectRoute(listener: ListenerPlan, req: RequestSnapshot): RoutePlan | null {
  let best: RoutePlan | null = null;
  let bestScore = -1;
  for (const route of listener.routes) {
    if (route.hostnames.length > 0 && !route.hostnames.some((h) => hostMatches(h, req.host))) continue;
    const hostBonus = route.hostnames.length > 0 ? 1 : 0;
    for (const m of route.matches) {
      const s = matchScore(m, req);
      if (s < 0) continue;
      const total = s * 2 + hostBonus;
      if (total > bestScore) {
        best = route;
        bestScore = total;
      }
    }
  }
  return best;
}
