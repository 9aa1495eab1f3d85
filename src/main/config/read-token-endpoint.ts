// The token endpoint of an OAuth exchange, flattened into its parent mapping as agentgateway's
// `SimpleBackendReferenceWithPolicies` + `path`: `host` is `host:port` or `http(s)://host[:port]`
// with no path, and `path` (default `/`) is the endpoint's path there. Portcullis also takes
// `issuer`: the endpoint is then the `token_endpoint` of that issuer's metadata, read at first use.
// Of the connection `policies` (agentgateway `SimpleLocalBackendPolicies`), `backendTLS` is read:
// how the endpoint (and its issuer's metadata) is verified. Backend and service references and
// the other connection policies are not implemented.

import { isHttpUrl } from './http-syntax.js';
import { readBackendTls } from './read-backend-tls.js';
import type { MapReader } from './schema-reader.js';
import type { BackendTlsPolicy, TokenEndpoint } from './types.js';

/** The keys a token endpoint adds to its parent mapping. */
export const ENDPOINT_KEYS = { known: ['host', 'issuer', 'path', 'policies'], unsupported: ['backend', 'name', 'port'] } as const;

const CONNECTION_POLICIES = ['requestHeaderModifier', 'transformations', 'backendAuth', 'http', 'tcp', 'backendTunnel'];

/** `policies: {backendTLS}`; null without one, undefined when it is wrong (reported). */
function readEndpointTls(m: MapReader, cwd: string): BackendTlsPolicy | null | undefined {
  const p = m.map('policies', { known: ['backendTLS'], unsupported: CONNECTION_POLICIES });
  if (p === undefined) return m.has('policies') ? undefined : null;
  if (!p.hasKey('backendTLS')) return null;
  return readBackendTls(m.issues, p.at('backendTLS'), p.raw('backendTLS'), cwd);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:[\]]+):(\d{1,5})$/;

export function readTokenEndpoint(m: MapReader, cwd: string): TokenEndpoint | undefined {
  const kind = m.choice(['host', 'issuer'] as const, ['backend', 'name']);
  const tls = readEndpointTls(m, cwd);
  const path = m.string('path');
  if (path !== undefined && !path.startsWith('/')) m.issues.add(m.at('path'), 'must start with /');
  if (kind === 'issuer') {
    const issuer = m.string('issuer', { nonEmpty: true });
    if (m.has('path')) m.issues.add(m.at('path'), "cannot be combined with issuer: the token endpoint comes from the issuer's metadata");
    if (issuer === undefined || tls === undefined) return undefined;
    if (!isHttpUrl(issuer)) {
      m.issues.add(m.at('issuer'), 'expected an http or https URL');
      return undefined;
    }
    return { kind: 'issuer', issuer, tls };
  }
  if (kind !== 'host' || tls === undefined) return undefined;
  const host = m.string('host', { nonEmpty: true });
  if (host === undefined) return undefined;
  const origin = originOf(host);
  if (origin === undefined) {
    m.issues.add(m.at('host'), 'expected host:port or an http(s)://host[:port] URL without a path');
    return undefined;
  }
  if (path !== undefined && !path.startsWith('/')) return undefined;
  if (path?.includes('#') === true) {
    m.issues.add(m.at('path'), 'must not contain #');
    return undefined;
  }
  // Joined as text: a path like `//other.example` stays a path on this host.
  const url = `${origin}${path ?? '/'}`;
  if (!URL.canParse(url)) {
    m.issues.add(m.at('path'), `does not form a valid URL (${url})`);
    return undefined;
  }
  return { kind: 'url', url: new URL(url).href, tls };
}

/** `http(s)://host[:port]` of `host`, or undefined when it is neither form. */
function originOf(host: string): string | undefined {
  if (host.includes('://')) {
    if (!isHttpUrl(host)) return undefined;
    const u = new URL(host);
    // `u.pathname` is `/` for both `https://idp` and `https://idp/`; anything after the
    // authority but one slash is a path, a query or a fragment.
    const rest = host.slice(host.indexOf('://') + 3).replace(/^[^/?#]*/, '');
    return (rest === '' || rest === '/') && u.username === '' && u.password === '' ? u.origin : undefined;
  }
  const m = HOST_PORT.exec(host);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
  return URL.canParse(`http://${host}`) ? new URL(`http://${host}`).origin : undefined;
}
