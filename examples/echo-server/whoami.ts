// The echo server's optional `whoami` tool (`--whoami`): what the server was called with, as an
// upstream behind a gateway sees it. It answers with the claims of the bearer token the request
// carried, decoded, and whether the token verifies (signature, exp, nbf) against the JWKS URL
// given with `--jwks`. The lab uses it to show that a token exchange replaced the user's own token.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { IsomorphicHeaders } from '@modelcontextprotocol/sdk/types.js';
import { type JWTPayload, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { z } from 'zod';

export interface WhoamiOptions {
  /** the JWKS the bearer token is checked against; null: decoded only */
  readonly jwksUrl: string | null;
}

/** Made once per process: one remote key set, fetched and cached for every session. */
export type TokenCheck = (token: string) => Promise<{ readonly verified: boolean; readonly error?: string }>;

export function tokenCheck(opts: WhoamiOptions): TokenCheck {
  if (opts.jwksUrl === null) return () => Promise.resolve({ verified: false, error: 'not checked: no --jwks given' });
  const keys = createRemoteJWKSet(new URL(opts.jwksUrl));
  return async (token) => {
    try {
      await jwtVerify(token, keys);
      return { verified: true };
    } catch (err) {
      return { verified: false, error: err instanceof Error ? err.message : String(err) };
    }
  };
}

const outputSchema = {
  verified: z.boolean(),
  jwks: z.string().nullable(),
  error: z.string().optional(),
  claims: z.record(z.string(), z.unknown()).nullable(),
};

export function registerWhoami(server: McpServer, check: TokenCheck, jwksUrl: string | null): void {
  server.registerTool(
    'whoami',
    { description: 'The claims of the bearer token this server received, and whether it verifies', outputSchema },
    async (extra) => {
      const token = bearerToken(extra.requestInfo?.headers);
      if (token === null) return { isError: true, content: [{ type: 'text', text: 'no bearer token in the request' }] };
      const claims = decoded(token);
      const result = claims === null ? { verified: false, jwks: jwksUrl, error: 'not a JWT', claims } : { ...(await check(token)), jwks: jwksUrl, claims };
      return { content: [{ type: 'text', text: summary(result.verified, claims) }], structuredContent: result };
    },
  );
}

function bearerToken(headers: IsomorphicHeaders | undefined): string | null {
  const value = headers?.['authorization'];
  const text = Array.isArray(value) ? value[0] : value;
  const m = /^Bearer +(\S+)$/i.exec(text ?? '');
  return m?.[1] ?? null;
}

function decoded(token: string): JWTPayload | null {
  try {
    return decodeJwt(token);
  } catch {
    return null;
  }
}

/** One line for a reader: whose token, issued by whom, for whom. */
function summary(verified: boolean, claims: JWTPayload | null): string {
  if (claims === null) return 'the bearer token is not a JWT';
  const aud = Array.isArray(claims.aud) ? claims.aud.join(', ') : (claims.aud ?? '(none)');
  return `sub ${claims.sub ?? '(none)'}, issued by ${claims.iss ?? '(none)'} for ${aud}${verified ? ', signature verified' : ', not verified'}`;
}
