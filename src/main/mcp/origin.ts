// Origin validation on MCP endpoints. The transport spec (2025-06-18 and 2025-11-25) says servers
// MUST validate the Origin header of every incoming connection against DNS rebinding, and
// 2025-11-25 that a present, invalid Origin MUST get 403. The gateway is the server its clients
// see, and it cannot leave the check to the upstream: the upstream's own Host check sees the
// target's authority, not the client's Host (upstream.ts drops `host`), and few check Origin.
// A browser sends Origin on every POST, so a rebound page (evil.example resolving to the gateway)
// is refused on its first request; clients that are not browsers send no Origin and are not
// affected. Admitted: an origin the route's cors policy allows ("*" admits all), a loopback one
// (local tools such as the Inspector's web UI), and one whose host is among the route's hostnames.
// A browser page from any other origin could not read the answers anyway without a cors policy.

import type { RoutePlan } from '../plan.js';
import { hostMatches } from '../router.js';

const loopback = new Set(['localhost', '127.0.0.1', '[::1]']);

export function originAllowed(origin: string, route: RoutePlan): boolean {
  if (route.cors !== null && route.cors.allowsOrigin(origin)) return true;
  let host: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    host = url.hostname.toLowerCase();
  } catch {
    return false; // "null" (a sandboxed or file: page), or no origin at all
  }
  if (loopback.has(host)) return true;
  return route.hostnames.some((pattern) => hostMatches(pattern, host));
}
