// One route's jwtAuth providers, prepared once per generation: keys imported and indexed by kid.
import type { ProviderSetInit } from '../../protocol/worker-contract.js';
import { importJwk, type ImportedKey } from './keys.js';
import { quote } from './text.js';

export interface PreparedProvider {
  readonly issuer: string;
  /** null: audience not checked */
  readonly audiences: ReadonlySet<string> | null;
}

export interface KeyCandidate {
  readonly provider: PreparedProvider;
  readonly key: ImportedKey;
}

export interface PreparedProviderSet {
  readonly id: number;
  readonly leewaySeconds: number;
  /** claims that must be present besides exp */
  readonly requiredClaims: readonly string[];
  /** kid → the providers holding it, in configuration order */
  readonly byKid: ReadonlyMap<string, readonly KeyCandidate[]>;
}

/** `warn` receives one line per unusable key; such keys are left out of the index. */
export function prepareProviderSet(init: ProviderSetInit, warn: (problem: string) => void): PreparedProviderSet {
  // NaN would disable the exp/nbf checks altogether, so refuse anything odd outright.
  if (!(Number.isFinite(init.leewaySeconds) && init.leewaySeconds >= 0)) {
    throw new RangeError(`provider set ${init.id}: leewaySeconds must be a finite number >= 0`);
  }
  const byKid = new Map<string, KeyCandidate[]>();
  for (const [index, p] of init.providers.entries()) {
    const provider: PreparedProvider = {
      issuer: p.issuer,
      audiences: p.audiences === null ? null : new Set(p.audiences),
    };
    const where = `provider set ${init.id}, provider ${index} (issuer ${quote(p.issuer)})`;
    const seen = new Set<string>();
    for (const jwk of p.keys) {
      const imported = importJwk(jwk);
      if (!imported.ok) {
        warn(`${where}: ${imported.problem}`);
        continue;
      }
      const { key } = imported;
      if (seen.has(key.kid)) {
        warn(`${where}: duplicate key ${quote(key.kid)}; the first one is used`);
        continue;
      }
      seen.add(key.kid);
      const list = byKid.get(key.kid);
      if (list === undefined) byKid.set(key.kid, [{ provider, key }]);
      else list.push({ provider, key });
    }
  }
  return { id: init.id, leewaySeconds: init.leewaySeconds, requiredClaims: init.requiredClaims.filter((c) => c !== 'exp'), byKid };
}

/**
 * The key a token should be checked with. Several providers may publish the same kid (one
 * JWKS shared by two issuers); the token's unverified `iss` only chooses among them — the
 * chosen key must still verify the signature, and `iss` is checked again afterwards.
 */
export function selectCandidate(candidates: readonly KeyCandidate[], iss: unknown): KeyCandidate | undefined {
  if (candidates.length > 1 && typeof iss === 'string') {
    const match = candidates.find((c) => c.provider.issuer === iss);
    if (match !== undefined) return match;
  }
  return candidates[0];
}
