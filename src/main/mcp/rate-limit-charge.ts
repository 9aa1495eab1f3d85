// A route's localRateLimit charged for one MCP request, with the CEL context its `key` and
// `condition` read: the caller's claims, the request, and for a call the tool, prompt or resource
// it names (so `key: mcp.tool.name` limits each tool apart).

import type { JsonRpcId } from '../../protocol/jsonrpc.js';
import type { McpCelContext } from '../../protocol/worker-contract.js';
import { joinedHeaders } from '../http/request.js';
import { rateLimitHeaders } from '../policy/rate-limit.js';
import { Refusal } from '../refusals.js';
import { refuse, type McpDeps, type McpRequest } from './context.js';

/** The request, with the limit's header fields to add to its answer; null when it was refused
 * (the client has had its 429). */
export function chargeRateLimit(m: McpRequest, deps: McpDeps, id: JsonRpcId | null, mcp: McpCelContext | null): McpRequest | null {
  const limiter = m.rateLimiter;
  if (limiter === null) return m;
  const decision = limiter.check(() => ({
    jwt: m.claims,
    mcp,
    request: { method: m.req.method, path: m.req.path, host: m.req.host, headers: joinedHeaders(m.req.headers) },
    source: { address: m.req.remoteAddress, port: 0 },
  }));
  if (!decision.allowed) {
    deps.onRateLimited(m.route.name);
    refuse(m, new Refusal('GW_RATE_LIMITED', 'rate limit exceeded', { headers: rateLimitHeaders(decision.state) }), id);
    return null;
  }
  return decision.state === null ? m : { ...m, corsHeaders: [...m.corsHeaders, ...rateLimitHeaders(decision.state)] };
}
