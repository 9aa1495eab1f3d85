// Verified-token cache: MCP clients send the same bearer token on every request of a session,
// and a hit (a Map lookup) replaces a signature verification, which costs far more.
// Bounded (at most `max` tokens; one not seen for `max / 2` newer ones may be dropped, see
// GenerationalMap), an entry found by its token's fingerprint and used only for the very token it
// holds, and never past the token's `exp`. It lives with one config generation; each entry names
// the exact key that verified it (issuer, kid, key material), so when a remote key set changes,
// tokens whose key left go with it, even if another provider publishes the same kid or the IdP
// reuses the kid for a new key.
//
// A token is cached the second time it verifies, not the first (`admits`, then `set`): a cached token is kept
// long enough to reach V8's old generation, so a stream of tokens used once each (one per call,
// as some clients mint them) would fill the old generation with entries nobody reads and make
// every request wait out its collections. What is remembered of a token verified once is a small
// integer drawn from its signature, in a typed table the collector neither scans nor moves (a Map
// would reallocate its table as tokens come and go, and those tables outlive young collections);
// two tokens drawing the same number only mean one of them is cached at its first verification,
// as before, and one evicting the other from its slot that it is cached at its third.

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

interface CachedToken extends VerifiedToken {
  readonly token: string;
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

/** Fingerprints seen once, remembered for at most `max` newer ones, as the cache holds `max`
 * tokens: one verified again later would be read from the cache no sooner than it is verified
 * anew. One per slot (a newer one takes the slot), 4 slots per token, so most are still found
 * after `max / 2` newer ones. */
export class FingerprintTable {
  readonly #tags: Int32Array;
  /** when each slot was marked, in marks */
  readonly #marked: Int32Array;
  readonly #shift: number;
  readonly #max: number;
  #marks = 0;

  constructor(max: number) {
    const bits = Math.max(4, Math.ceil(Math.log2(max * 4)));
    this.#tags = new Int32Array(2 ** bits);
    this.#marked = new Int32Array(2 ** bits);
    this.#shift = 32 - bits;
    this.#max = max;
  }

  /** True if `fingerprint` (a tokenFingerprint) was marked, still holds its slot and is among the
   * last `max` marked; else marks it. */
  seenBefore(fingerprint: number): boolean {
    // Fibonacci hashing: the slot from the high bits of the product, which mix every bit.
    const slot = Math.imul(fingerprint, 0x9e3779b1) >>> this.#shift;
    // +1: an empty slot (0) is no fingerprint's tag
    const tag = fingerprint + 1;
    // int32 arithmetic: an age that wrapped around can only make a token cached one verification early
    const age = (this.#marks - (this.#marked[slot] ?? 0)) | 0;
    if (this.#tags[slot] === tag && age >= 0 && age < this.#max) return true;
    this.#marks = (this.#marks + 1) | 0;
    this.#tags[slot] = tag;
    this.#marked[slot] = this.#marks;
    return false;
  }
}

export class VerifiedTokenCache {
  /** by the token's fingerprint, not the token: a Map hashes a string key's every character, a
   * fresh string on every request, where the fingerprint reads 8 and the one comparison that
   * decides a hit runs as a memory compare */
  readonly #entries: GenerationalMap<number, CachedToken>;
  /** fingerprints of tokens verified once and not cached */
  readonly #verifiedOnce: FingerprintTable;
  readonly #counts: CacheCounts;

  /** `counts`: where lookups are counted (the gateway's metrics), else a private tally. */
  constructor(max: number, counts: CacheCounts = { hits: 0, misses: 0 }) {
    this.#entries = new GenerationalMap(max);
    this.#verifiedOnce = new FingerprintTable(max);
    this.#counts = counts;
  }

  get(token: string, nowMs: number): VerifiedToken | undefined {
    const at = tokenFingerprint(token);
    const entry = this.#entries.peek(at);
    // Another token drawing the same number is a miss: only the whole token finds its claims.
    if (entry === undefined || entry.token !== token) {
      this.#counts.misses++;
      return undefined;
    }
    if (entry.expiresAtMs <= nowMs) {
      this.#entries.delete(at);
      this.#counts.misses++;
      return undefined;
    }
    this.#counts.hits++;
    // read again: kept through the next turn of generations
    this.#entries.get(at);
    return entry;
  }

  /** Caches `token`; one cached before that draws the same number gives way. */
  set(token: string, entry: VerifiedToken): void {
    this.#entries.set(tokenFingerprint(token), { claims: entry.claims, key: entry.key, expiresAtMs: entry.expiresAtMs, token });
  }

  /** A token just verified: true if it was verified before (while remembered), and so is to be
   * cached (`set`); else it is remembered. */
  admits(token: string): boolean {
    return this.#verifiedOnce.seenBefore(tokenFingerprint(token));
  }

  /** Drops every token verified with a key not in `live` (keyIdentity values). */
  retainKeys(live: ReadonlySet<string>): void {
    this.#entries.deleteWhere((v) => !live.has(v.key));
  }

  get size(): number {
    return this.#entries.size;
  }
}
