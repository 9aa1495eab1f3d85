// Exchanged tokens, per backendAuth policy instance, as agentgateway's `cache.rs`: keyed by a
// SHA-256 of the length-prefixed exchange inputs (the raw token is never a key), kept for
// `expires_in` (else the default TTL) but never past the subject token's `exp`, and neither
// served nor stored with 15 s or less to go. Bounded by `maxEntries`, least recently used first
// out. Concurrent misses for one key share one fetch and its outcome, failure included.

import { hash } from 'node:crypto';
import type { CacheCounts } from '../../protocol/worker-contract.js';
import { unverifiedPayload } from './jwt-payload.js';

/** agentgateway's CACHE_SAFETY_MARGIN. */
export const SAFETY_MARGIN_MS = 15_000;

export interface ExchangeInputs {
  readonly subjectToken: string;
  readonly subjectTokenType: string;
  readonly actor: { readonly token: string; readonly tokenType: string } | null;
  /** evaluated additionalParams, sorted by name */
  readonly params: ReadonlyArray<readonly [string, string]>;
}

/** The digest agentgateway's TokenCacheKey takes: each field as u64-LE length + bytes. Written
 * into one buffer and hashed in one call: it runs on every upstream call of a cached exchange. */
export function cacheKey(inputs: ExchangeInputs): string {
  const fields: Array<string | number> = [inputs.subjectToken, inputs.subjectTokenType];
  if (inputs.actor === null) fields.push(0);
  else fields.push(1, inputs.actor.token, inputs.actor.tokenType);
  for (const [name, value] of inputs.params) fields.push(name, value);
  let size = 0;
  for (const f of fields) size += 8 + (typeof f === 'number' ? 1 : Buffer.byteLength(f, 'utf8'));
  // Zero-filled: a length's high 32 bits stay 0.
  const buf = Buffer.alloc(size);
  let at = 0;
  for (const f of fields) {
    let length = 1;
    if (typeof f === 'number') buf[at + 8] = f;
    else length = buf.write(f, at + 8, 'utf8');
    buf.writeUInt32LE(length, at);
    at += 8 + length;
  }
  return hash('sha256', buf, 'base64url');
}

/** When a token fetched now stops being usable: its lifetime, capped at the subject's `exp`. */
export function expiryOf(nowMs: number, expiresIn: number | null, defaultTtlSeconds: number, subjectToken: string): number {
  const ttlMs = (expiresIn ?? defaultTtlSeconds) * 1000;
  const exp = unverifiedPayload(subjectToken)?.['exp'];
  const subjectEnd = typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : Infinity;
  return Math.min(nowMs + ttlMs, subjectEnd);
}

export class ExchangeCache<T> {
  readonly #max: number;
  readonly #now: () => number;
  readonly #counts: CacheCounts;
  /** insertion order is recency: a hit moves its entry to the end */
  readonly #entries = new Map<string, { readonly value: string; readonly expiresAtMs: number }>();
  readonly #flights = new Map<string, Promise<T>>();

  constructor(maxEntries: number, now: () => number, counts: CacheCounts = { hits: 0, misses: 0 }) {
    this.#max = maxEntries;
    this.#now = now;
    this.#counts = counts;
  }

  get counts(): CacheCounts {
    return this.#counts;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The token cached under `key` with more than the safety margin to go. */
  get(key: string): string | undefined {
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    if (entry === undefined || entry.expiresAtMs - this.#now() <= SAFETY_MARGIN_MS) {
      this.#counts.misses++;
      return undefined;
    }
    this.#counts.hits++;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Kept only with more than the safety margin to go; the least recently used leave first. */
  set(key: string, value: string, expiresAtMs: number): void {
    this.#entries.delete(key);
    if (expiresAtMs - this.#now() <= SAFETY_MARGIN_MS) return;
    this.#entries.set(key, { value, expiresAtMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** `fetch` once for concurrent callers of one key; they all get its outcome. */
  shared(key: string, fetch: () => Promise<T>): Promise<T> {
    const running = this.#flights.get(key);
    if (running !== undefined) return running;
    const flight = fetch().finally(() => this.#flights.delete(key));
    this.#flights.set(key, flight);
    return flight;
  }
}
