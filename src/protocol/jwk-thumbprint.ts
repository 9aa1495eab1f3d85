// RFC 7638 JWK thumbprint: SHA-256 over a key's required public members, sorted, no whitespace.
// It names key material whatever its kid. A worker reports it with every verified token, and the
// main thread compares it with the keys now published, so a cached token leaves with its exact
// key, even when another key takes over the same kid.
import { createHash } from 'node:crypto';
import type { PublicJwk } from './worker-contract.js';

// A Map: `kty` is the key set's text, and `constructor` must be just another unknown type.
const REQUIRED_MEMBERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['RSA', ['e', 'kty', 'n']],
  ['EC', ['crv', 'kty', 'x', 'y']],
  ['OKP', ['crv', 'kty', 'x']],
]);

export function jwkThumbprint(jwk: PublicJwk): string {
  // Another kty never verifies anything; its kty alone names it well enough.
  const members = REQUIRED_MEMBERS.get(jwk.kty) ?? ['kty'];
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m] ?? null)}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}
