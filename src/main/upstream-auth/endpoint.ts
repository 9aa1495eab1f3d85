// The URL of a token endpoint: written in the config, or (a Portcullis extension) the
// `token_endpoint` of the issuer's metadata: OpenID discovery, then RFC 8414. The metadata's
// `issuer` must be the one configured (RFC 8414 §3.3), and an https issuer's endpoint must be
// https. Found once per source and kept; concurrent first calls share one lookup, and a failed
// lookup is tried again by the next call.

import { isPlainObject } from '../config/schema-reader.js';
import type { TokenEndpoint } from '../config/types.js';
import { type HttpSettings, exchange } from './token-http.js';
import { shown } from './token-response.js';
import type { CalloutTracer } from '../telemetry/tracing.js';

export type EndpointUrl = { readonly ok: true; readonly url: string } | { readonly ok: false; readonly reason: string; readonly detail: string };

export function endpointResolver(endpoint: TokenEndpoint, http: HttpSettings): (callouts: CalloutTracer | null) => Promise<EndpointUrl> {
  if (endpoint.kind === 'url') {
    const found: EndpointUrl = { ok: true, url: endpoint.url };
    return () => Promise.resolve(found);
  }
  let known: EndpointUrl | null = null;
  let running: Promise<EndpointUrl> | null = null;
  return (callouts) => {
    if (known !== null) return Promise.resolve(known);
    running ??= discover(endpoint.issuer, http, callouts).then((result) => {
      running = null;
      if (result.ok) known = result;
      return result;
    });
    return running;
  };
}

/** Where an issuer's metadata may be: `<issuer>/.well-known/openid-configuration`, then RFC 8414's form. */
export function metadataUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return [`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, `${u.origin}/.well-known/oauth-authorization-server${path}`];
}

async function discover(issuer: string, http: HttpSettings, callouts: CalloutTracer | null): Promise<EndpointUrl> {
  const details: string[] = [];
  for (const url of metadataUrls(issuer)) {
    const answer = await exchange({ method: 'GET', url, headers: { accept: 'application/json' } }, http, callouts);
    if (!answer.ok) {
      details.push(answer.detail);
      continue;
    }
    if (answer.status !== 200) {
      details.push(`GET ${url}: status ${answer.status}`);
      continue;
    }
    const found = tokenEndpointIn(answer.body, issuer);
    if ('url' in found) return { ok: true, url: found.url };
    details.push(`GET ${url}: ${found.problem}`);
  }
  return { ok: false, reason: 'authorization server metadata unavailable', detail: details.join('; ') };
}

function tokenEndpointIn(body: Buffer, issuer: string): { readonly url: string } | { readonly problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { problem: 'not JSON' };
  }
  if (!isPlainObject(doc)) return { problem: 'not a JSON object' };
  const { issuer: named, token_endpoint: url } = doc;
  if (named !== issuer) return { problem: `issuer ${typeof named === 'string' ? shown(named) : 'missing'}, expected ${issuer}` };
  if (typeof url !== 'string' || !URL.canParse(url)) return { problem: 'no token_endpoint URL' };
  const protocol = new URL(url).protocol;
  if (protocol !== 'https:' && (protocol !== 'http:' || issuer.startsWith('https:'))) {
    return { problem: `token_endpoint ${shown(url)} is not ${issuer.startsWith('https:') ? 'https' : 'http(s)'}` };
  }
  return { url };
}
