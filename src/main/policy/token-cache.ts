// Verified-token cache: MCP clients send the same bearer token on every request of a session,
// and a hit (a Map lookup) replaces a signature verification, which costs far more.
// Bounded (at most `max` tokens; one not seen for `max / 2` newer ones may be dropped, see
// GenerationalMap), keyed by the whole token, and an entry never outlives the token's `exp`. It
// lives with one config generation; each entry names the exact key that verified it (issuer,
// kid, key material), so when a remote key set changes, tokens whose key left go with it, even
// if another provider publishes the same kid or the IdP reuses the kid for a new key.
//
// A token is cached the second time it verifies, not the first (`offer`): a cached token is kept
// long enough to reach V8's old generation, so a stream of tokens used once each (one per call,
// as some clients mint them) would fill the old generation with entries nobody reads and make
// every request wait out its collections. What is remembered of a token verified once is a small
// integer drawn from its signature, which costs the collector nothing; two tokens drawing the same
// number only mean one of them is cached at its first verification, as before.

import { jwkThumbprint } from '../../protocol/jwk-thumbprint.js';
import type { CacheCounts, Claims, ProviderInit } from '../../protocol/worker-contract.js';
import { GenerationalMap } from '../generational-map.js';

export interface VerifiedToken {
  readonly claims: Claims;
  /** the key that verified it, as keyIdentity */
  readonly key: string;
  /** ms since epoch after which the entry is not used */
  readonly expiresAtMs: number;
}

/** One key of one provider: issuer, kid and RFC 7638 thumbprint. */
export function keyIdentity(issuer: string, kid: string, thumbprint: string): string {
  return JSON.stringify([issuer, kid, thumbprint]);
}

/** The keyIdentity of every key these providers publish. */
export function liveKeys(providers: readonly ProviderInit[]): Set<string> {
  const live = new Set<string>();
  for (const p of providers) {
    for (const k of p.keys) if (k.kid !== undefined) live.add(keyIdentity(p.issuer, k.kid, jwkThumbprint(k)));
  }
  return live;
}

/** A Smi (at most 30 bits, so V8 keeps it unboxed) from the token's last characters: for a
 * verified token, its signature's. */
export function tokenFingerprint(token: string): number {
  let h = 0;
  for (let i = Math.max(0, token.length - 8); i < token.length; i++) h = (Math.imul(h, 31) + token.charCodeAt(i)) | 0;
  return h & 0x3fffffff;
}

export class VerifiedTokenCache {
  readonly #entries: GenerationalMap<string, VerifiedToken>;
  /** fingerprints of tokens verified once and not cached (as many as the cache holds tokens) */
  readonly #verifiedOnce: GenerationalMap<number, true>;
  readonly #counts: CacheCounts;

  /** `counts`: where lookups are counted (the gateway's metrics), else a private tally. */
  constructor(max: number, counts: CacheCounts = { hits: 0, misses: 0 }) {
    this.#entries = new GenerationalMap(max);
    this.#verifiedOnce = new GenerationalMap(max);
    this.#counts = counts;
  }

  get(key: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.#entries.peek(key);
    if (entry === undefined) {
      this.#counts.misses++;
      return undefined;
    }
    if (entry.expiresAtMs <= nowMs) {
      this.#entries.delete(key);
      this.#counts.misses++;
      return undefined;
    }
    this.#counts.hits++;
    // read again: kept through the next turn of generations
    return this.#entries.get(key);
  }

  set(key: string, entry: VerifiedToken): void {
    this.#entries.set(key, entry);
  }

  /** A token just verified: cached if it was verified before (while remembered), else remembered. */
  offer(key: string, entry: VerifiedToken): void {
    const fingerprint = tokenFingerprint(key);
    if (this.#verifiedOnce.peek(fingerprint) === undefined) this.#verifiedOnce.set(fingerprint, true);
    else this.set(key, entry);
  }

  /** Drops every token verified with a key not in `live` (keyIdentity values). */
  retainKeys(live: ReadonlySet<string>): void {
    this.#entries.deleteWhere((v) => !live.has(v.key));
  }

  get size(): number {
    return this.#entries.size;
  }
}
