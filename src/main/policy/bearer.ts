// Where the token comes from (jwtAuth `location`): a header with a prefix (default
// `Authorization: Bearer <token>`, prefix matched case-insensitively, as agentgateway), a query
// parameter, or a cookie. A non-empty value there is a token, however malformed (the verifier
// refuses it: optional mode must not pass `Bearer abc def` as anonymous); only an absent or
// empty value is no token. `withoutToken` gives the headers to forward once the token has been
// consumed, so it never reaches the upstream by accident.

import type { TokenLocation } from '../config/types.js';
import type { RequestSnapshot } from '../http/request.js';
import { decodeComponent, headerValue } from '../http/request.js';

export type HeaderPairs = ReadonlyArray<readonly [string, string]>;

export interface ExtractedToken {
  readonly token: string | null;
  /** request headers minus the one carrying the token */
  withoutToken(): HeaderPairs;
}

function cookieValue(cookieHeader: string, name: string): string | null {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function queryValue(query: string, name: string): string | null {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    // A name that does not decode is not read as the token's.
    if (eq < 0 || decodeComponent(part.slice(0, eq)) !== name) continue;
    const raw = part.slice(eq + 1);
    // A value that does not decode is still a token: an invalid one.
    return decodeComponent(raw) ?? raw;
  }
  return null;
}

function tokenOf(raw: string | null): string | null {
  if (raw === null) return null;
  const t = raw.trim();
  return t === '' ? null : t;
}

export function extractToken(req: RequestSnapshot, location: TokenLocation): ExtractedToken {
  switch (location.kind) {
    case 'header': {
      const name = location.name.toLowerCase();
      const value = headerValue(req, name);
      const prefix = location.prefix;
      const raw = value !== undefined && value.length > prefix.length && value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()
        ? value.slice(prefix.length)
        : null;
      return { token: tokenOf(raw), withoutToken: () => req.headers.filter(([k]) => k !== name) };
    }
    case 'cookie': {
      // Cookies may come split over several Cookie headers (RFC 6265 asks for one, RFC 9113 splits
      // them): the token is looked for in all of them, as all of them lose it when forwarded.
      let raw: string | null = null;
      for (const [k, v] of req.headers) if (k === 'cookie' && raw === null) raw = cookieValue(v, location.name);
      const token = tokenOf(raw);
      return {
        token,
        withoutToken: () =>
          req.headers.flatMap(([k, v]): HeaderPairs => {
            if (k !== 'cookie') return [[k, v]];
            const rest = v.split(';').filter((p) => p.slice(0, Math.max(0, p.indexOf('='))).trim() !== location.name).map((p) => p.trim());
            return rest.length === 0 ? [] : [[k, rest.join('; ')]];
          }),
      };
    }
    case 'queryParameter':
      // The client's query is never forwarded to an MCP upstream, so there is nothing to strip.
      return { token: tokenOf(queryValue(req.query, location.name)), withoutToken: () => req.headers };
  }
}
