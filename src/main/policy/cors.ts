// CORS, compiled once per route (hono's cors middleware is the model): header strings are built
// at load, the per-request work is an origin check and a few header pushes. Runs before
// authentication, so a browser's preflight never needs a token and rejections carry CORS headers.

import type { CorsPolicy, StringListOrAny } from '../config/types.js';
import type { HeaderList } from '../http/reply.js';
import { headerValue, type RequestSnapshot } from '../http/request.js';

export interface CompiledCors {
  /** Headers for a preflight, or null when this OPTIONS request is not one we answer. */
  preflight(req: RequestSnapshot): HeaderList | null;
  /** Headers to add to any other response. */
  responseHeaders(req: RequestSnapshot): HeaderList;
  /** The origin is one allowOrigins admits ("*" admits every origin). */
  allowsOrigin(origin: string): boolean;
}

/** MCP browser clients must read these; the lab's config (like agentgateway's examples) forgets them. */
const mcpExposed = ['mcp-session-id', 'mcp-protocol-version'];

function joined(list: StringListOrAny): string | null {
  if (list.any) return '*';
  return list.values.length === 0 ? null : list.values.join(', ');
}

export function compileCors(policy: CorsPolicy, exposeMcpHeaders: boolean): CompiledCors {
  const origins = policy.allowOrigins.any ? null : new Set(policy.allowOrigins.values.map((o) => o.toLowerCase()));
  const anyOrigin = policy.allowOrigins.any;
  const credentials = policy.allowCredentials;
  const exposeList = policy.exposeHeaders.any ? ['*'] : [...policy.exposeHeaders.values];
  if (exposeMcpHeaders && !policy.exposeHeaders.any) {
    for (const h of mcpExposed) if (!exposeList.some((e) => e.toLowerCase() === h)) exposeList.push(h);
  }
  const expose = exposeList.length === 0 ? null : exposeList.join(', ');
  const methods = joined(policy.allowMethods);
  const headers = joined(policy.allowHeaders);
  const maxAge = policy.maxAge === null ? null : String(policy.maxAge);

  function allowed(origin: string): boolean {
    return anyOrigin || (origins !== null && origins.has(origin.toLowerCase()));
  }

  return {
    preflight(req) {
      const origin = headerValue(req, 'origin');
      if (origin === undefined) return null;
      const requestMethod = headerValue(req, 'access-control-request-method');
      if (!allowed(origin)) {
        // A real preflight from a foreign origin is answered without CORS headers (the browser
        // then blocks the call); it is never forwarded.
        return requestMethod === undefined || requestMethod === '' ? null : [];
      }
      const out: Array<readonly [string, string]> = [['access-control-allow-origin', origin], ['vary', 'origin']];
      if (methods !== null) {
        if (policy.allowMethods.any) {
          if (requestMethod !== undefined && requestMethod !== '') out.push(['access-control-allow-methods', requestMethod]);
          else if (!credentials) out.push(['access-control-allow-methods', '*']);
        } else out.push(['access-control-allow-methods', methods]);
      }
      if (headers !== null) {
        if (policy.allowHeaders.any) {
          const requested = headerValue(req, 'access-control-request-headers');
          if (requested !== undefined && requested !== '') {
            out.push(['access-control-allow-headers', requested.split(',').map((h) => h.trim()).filter((h) => h !== '').join(', ')]);
          } else if (!credentials) out.push(['access-control-allow-headers', '*']);
        } else out.push(['access-control-allow-headers', headers]);
      }
      if (maxAge !== null) out.push(['access-control-max-age', maxAge]);
      if (credentials) out.push(['access-control-allow-credentials', 'true']);
      if (expose !== null) out.push(['access-control-expose-headers', expose]);
      return out;
    },
    responseHeaders(req) {
      const origin = headerValue(req, 'origin');
      if (origin === undefined || !allowed(origin)) return [];
      const out: Array<readonly [string, string]> = [['access-control-allow-origin', origin], ['vary', 'origin']];
      if (credentials) out.push(['access-control-allow-credentials', 'true']);
      if (expose !== null) out.push(['access-control-expose-headers', expose]);
      return out;
    },
    allowsOrigin: allowed,
  };
}
