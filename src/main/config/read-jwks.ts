// `jwks` of a JWT provider (jwtAuth, its `providers[]`, and mcpAuthentication): `{file}` (relative
// to the process cwd, as agentgateway), inline JWKS JSON text, `{url}`, or OpenID discovery
// (`{discovery: true}`, or no `jwks` at all when the issuer is an http(s) URL). File and inline
// keys are loaded and checked now; url and discovery sets are fetched at run time, so their
// `keys` stay empty here. Beside `url` or `discovery`, `tls` (a Portcullis extension: agentgateway
// has no place for it) takes backendTLS's fields for those fetches: a private CA, mutual TLS.

import { resolve } from 'node:path';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { hasUserinfo, isHttpUrl } from './http-syntax.js';
import { loadJwksFile, parseJwks } from './jwks-load.js';
import { readBackendTls } from './read-backend-tls.js';
import { type MapReader, keyPath } from './schema-reader.js';
import type { BackendTlsPolicy, JwksSource } from './types.js';

export interface Jwks {
  readonly source: JwksSource;
  readonly keys: readonly PublicJwk[];
}

export const MISSING_JWKS = 'required (or an http(s) issuer for OpenID discovery)';

/** Neither a JWKS nor an OpenID configuration is fetched with credentials (both are public by
 * design); refused rather than dropped in silence, and not quoted: the message would log it. */
const USERINFO = 'a user name or password in this URL would not be sent (the JWKS and OpenID configuration are fetched without credentials); remove it';


/**
 * Reads `m[key]`. `issuer` is the provider's issuer as read (undefined when it was missing or
 * bad, which has been reported already): discovery needs it to be an http(s) URL.
 */
export function readJwks(m: MapReader, key: string, issuer: string | undefined, cwd: string): Jwks | undefined {
  const path = m.at(key);
  const value = m.value(key);
  if (value === undefined) {
    if (issuer !== undefined && isHttpUrl(issuer)) return discoveryFrom(m, m.at('issuer'), issuer);
    m.issues.add(path, MISSING_JWKS);
    return undefined;
  }
  const keysPath = keyPath(path, 'keys');

  if (typeof value === 'string') {
    if (!value.trimStart().startsWith('{')) {
      m.issues.add(path, 'failed to load JWKS: inline JWKS must be JSON text; for a file write `jwks: {file: <path>}`');
      return undefined;
    }
    return { source: { kind: 'inline' }, keys: parseJwks(m.issues, value, path, keysPath) };
  }
  if (typeof value !== 'object') {
    m.issues.add(path, 'expected {file: <path>}, {url: <https URL>}, {discovery: true} or inline JWKS JSON text');
    return undefined;
  }
  const j = m.map(key, { known: ['file', 'url', 'discovery', 'tls'] });
  const kind = j?.choice(['file', 'url', 'discovery'] as const);
  if (j === undefined || kind === undefined) return undefined;
  let tls: BackendTlsPolicy | null = null;
  if (j.hasKey('tls')) {
    if (kind === 'file') {
      j.issues.add(j.at('tls'), 'only with url or discovery: a file is not fetched');
      return undefined;
    }
    const read = readBackendTls(j.issues, j.at('tls'), j.raw('tls'), cwd);
    if (read === undefined) return undefined;
    tls = read;
  }

  switch (kind) {
    case 'file': {
      const file = j.string('file', { required: true, nonEmpty: true });
      if (file === undefined) return undefined;
      const abs = resolve(cwd, file);
      return { source: { kind: 'file', path: abs }, keys: loadJwksFile(m.issues, j.at('file'), abs, keysPath) };
    }
    case 'url':
      return readJwksUrl(m, j.at('url'), j.string('url', { required: true, nonEmpty: true }), tls);
    case 'discovery': {
      const on = j.raw('discovery');
      if (on !== true) {
        const hint = on === false ? ' (for keys from a file, a URL or inline, give those instead)' : '';
        m.issues.add(j.at('discovery'), `expected true${hint}`);
        return undefined;
      }
      return discoveryFrom(m, j.at('discovery'), issuer, tls);
    }
  }
}

/** `{url}` and mcpAuthentication's `jwksUrl`: an http(s) URL, fetched at run time. */
export function readJwksUrl(m: MapReader, path: string, url: string | undefined, tls: BackendTlsPolicy | null = null): Jwks | undefined {
  if (url === undefined) return undefined;
  if (!isHttpUrl(url)) {
    m.issues.add(path, 'expected an http or https URL');
    return undefined;
  }
  if (hasUserinfo(url)) {
    m.issues.add(path, USERINFO);
    return undefined;
  }
  if (tls !== null && new URL(url).protocol !== 'https:') {
    m.issues.add(path, 'tls is given, so this must be an https URL');
    return undefined;
  }
  return { source: { kind: 'url', url, tls }, keys: [] };
}

/** Discovery asked for explicitly: reads `<issuer>/.well-known/openid-configuration`, so the issuer must be a URL. */
export function discoveryFrom(m: MapReader, path: string, issuer: string | undefined, tls: BackendTlsPolicy | null = null): Jwks | undefined {
  if (issuer === undefined) return undefined;
  if (!isHttpUrl(issuer)) {
    m.issues.add(path, `OpenID discovery needs an http(s) issuer URL (got ${JSON.stringify(issuer)})`);
    return undefined;
  }
  if (hasUserinfo(issuer)) {
    m.issues.add(path, `OpenID discovery: ${USERINFO}`);
    return undefined;
  }
  return { source: { kind: 'discovery', tls }, keys: [] };
}
