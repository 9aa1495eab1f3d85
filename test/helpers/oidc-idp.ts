// A real OpenID Provider (oidc-provider 9, certified) in-process on 127.0.0.1, as the enterprise
// identity provider: one confidential client with the client_credentials grant, resource
// indicators (RFC 8707) for one resource server whose access tokens are RFC 9068 `at+jwt` JWTs
// signed ES256. Key rotation rebuilds the Provider on the same server (same port, same issuer)
// with the new key list; oidc-provider signs with the first key that fits the algorithm.
// oidc-provider 9 prints a runtime warning on Node 20 ("Unsupported runtime") and a few
// development notices; they are expected.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { JWK } from 'jose';
import Provider from 'oidc-provider';
import { makeIssuer } from './keys.js';
import { listenLocal } from './ports.js';

export interface IdpSigningKey {
  readonly kid: string;
  /** private ES256 JWK with kid, alg and use */
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export async function makeIdpSigningKey(kid: string): Promise<IdpSigningKey> {
  const issuer = await makeIssuer({ alg: 'ES256', kid });
  return {
    kid,
    privateJwk: { ...issuer.privateJwk, kid, alg: 'ES256', use: 'sig' },
    publicJwk: { ...issuer.publicJwk, kid, alg: 'ES256', use: 'sig' },
  };
}

export interface OidcIdpOptions {
  readonly keys: readonly IdpSigningKey[];
  /** the resource indicator and the tokens' `aud` (default https://mcp.example.com/) */
  readonly resource?: string;
  /** the resource server's scope (default `mcp`) */
  readonly scope?: string;
}

export interface OidcIdp {
  /** http://127.0.0.1:<port>, also the tokens' `iss` and the discovery document's `issuer` */
  readonly issuer: string;
  readonly resource: string;
  readonly clientId: string;
  /** Rebuilds the provider on the same server with these keys (published in this order; the first signs). */
  setSigningKeys(keys: readonly IdpSigningKey[]): void;
  /** `POST /token` with grant_type=client_credentials and resource=<resource>; the access token. */
  issueAccessToken(): Promise<string>;
  /** Requests seen for a path, e.g. `/jwks` or `/.well-known/openid-configuration`. */
  requestCount(path: string): number;
  close(): Promise<void>;
}

const CLIENT_ID = 'mcp-agent';
const CLIENT_SECRET = 'mcp-agent-secret-0123456789abcdef';

export async function startOidcIdp(opts: OidcIdpOptions): Promise<OidcIdp> {
  const resource = opts.resource ?? 'https://mcp.example.com/';
  const scope = opts.scope ?? 'mcp';
  const counts = new Map<string, number>();
  let handler: (req: IncomingMessage, res: ServerResponse) => unknown = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://idp.invalid').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    handler(req, res);
  });
  const port = await listenLocal(server);
  const issuer = `http://127.0.0.1:${port}`;

  const build = (keys: readonly IdpSigningKey[]): void => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          // the keystore has only ES256 keys, and the client default (RS256) would not validate
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: keys.map((k) => k.privateJwk) },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          getResourceServerInfo: () => ({ scope, audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        },
      },
    });
    handler = provider.callback();
  };
  build(opts.keys);

  return {
    issuer,
    resource,
    clientId: CLIENT_ID,
    setSigningKeys: build,
    async issueAccessToken() {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
          connection: 'close',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString(),
      });
      const body: unknown = await res.json();
      const token = typeof body === 'object' && body !== null && 'access_token' in body ? body.access_token : undefined;
      if (res.status !== 200 || typeof token !== 'string') throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
      return token;
    },
    requestCount: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The decoded (unverified) header and payload of a compact JWS. */
export function peekJwt(token: string): { readonly header: Record<string, unknown>; readonly payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  const decode = (segment: string | undefined): Record<string, unknown> => {
    const value: unknown = JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  };
  return { header: decode(h), payload: decode(p) };
}

