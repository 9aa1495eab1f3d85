// `mcpAuthentication`: the gateway as an OAuth 2.1 resource server, as the MCP authorization
// spec asks. It serves RFC 9728 protected-resource metadata at
// `/.well-known/oauth-protected-resource[/<path>]` and points every 401 at it through
// `WWW-Authenticate: Bearer resource_metadata="…"`, so clients can discover the identity provider.

import { snakeCase } from '../config/read-resource-metadata.js';
import type { McpAuthenticationPolicy } from '../config/types.js';
import type { HeaderList } from '../http/reply.js';
import { headerValue, type RequestSnapshot } from '../http/request.js';

export const metadataPrefix = '/.well-known/oauth-protected-resource';

const metadataHeaders: HeaderList = [
  ['content-type', 'application/json'],
  ['access-control-allow-origin', '*'],
  ['access-control-allow-methods', 'GET, OPTIONS'],
  ['access-control-allow-headers', 'content-type, mcp-protocol-version'],
];

export function isMetadataPath(path: string): boolean {
  return path === metadataPrefix || path.startsWith(`${metadataPrefix}/`);
}

/** scheme://authority of the public URL: from `resourceMetadata.resource` when set, else the request. */
function baseUrl(policy: McpAuthenticationPolicy, req: RequestSnapshot): string {
  const configured = policy.resourceMetadata['resource'];
  if (typeof configured === 'string') {
    try {
      return new URL(configured).origin;
    } catch {
      // not a URL: fall back to the request
    }
  }
  const proto = headerValue(req, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return `${proto}://${headerValue(req, 'host') ?? 'localhost'}`;
}

/** The metadata document for a GET on a metadata path. */
export function metadataResponse(policy: McpAuthenticationPolicy, req: RequestSnapshot): { headers: HeaderList; body: string } {
  const resourcePath = req.path.slice(metadataPrefix.length);
  // Keys written in the config are set on a Map: assigned to an object, `__proto__` would set
  // its prototype instead of a member.
  const doc = new Map<string, unknown>([
    ['resource', `${baseUrl(policy, req)}${resourcePath}`],
    ['authorization_servers', [policy.issuer]],
    ['bearer_methods_supported', ['header']],
    ['mcp_protocol_version', '2025-06-18'],
    ['resource_type', 'mcp-server'],
  ]);
  if (policy.scopes.length > 0) doc.set('scopes_supported', policy.scopes);
  for (const [k, v] of Object.entries(policy.resourceMetadata)) doc.set(snakeCase(k), v);
  return { headers: metadataHeaders, body: JSON.stringify(Object.fromEntries(doc)) };
}

export function preflightHeaders(): HeaderList {
  return metadataHeaders.filter(([k]) => k !== 'content-type');
}

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, '')}"`;
}

/** RFC 6750 challenge. `error` is set when a token was presented and refused. */
export function bearerChallenge(policy: McpAuthenticationPolicy | null, req: RequestSnapshot, error: 'invalid_token' | 'insufficient_scope' | null): string {
  const params: string[] = [];
  if (error !== null) params.push(`error=${quoted(error)}`);
  if (policy !== null) {
    const path = req.path === '/' ? '' : req.path;
    params.push(`resource_metadata=${quoted(`${baseUrl(policy, req)}${metadataPrefix}${path}`)}`);
    if (policy.scopes.length > 0) params.push(`scope=${quoted(policy.scopes.join(' '))}`);
  }
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
}
