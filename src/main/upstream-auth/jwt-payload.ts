// The payload of a JWT-shaped token, decoded without any verification: only for best-effort
// local checks (the subject's `exp` capping a cache entry, `may_act` against an actor), never
// for a trust decision the token's issuer has not already made.

import { isPlainObject } from '../config/schema-reader.js';

/** The payload object, or null for a token that is not a compact JWS with a JSON object payload. */
export function unverifiedPayload(token: string): Readonly<Record<string, unknown>> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined || !/^[A-Za-z0-9_-]*$/.test(parts[1])) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return isPlainObject(value) ? value : null;
  } catch {
    return null;
  }
}
