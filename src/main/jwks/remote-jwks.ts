// A remote JWKS, fetched by the main thread (one fetch per provider, not one per worker) and
// handed to the workers as data. Cached per Cache-Control / Expires (with a floor, and a 24 h
// ceiling: a far-future lifetime must not overflow the timer), refreshed in the background, and
// refetched once when a token names an unknown `kid` — debounced, so a stream of forged kids
// cannot turn the gateway into a load generator against the IdP. A failed refresh keeps the
// last good keys.

import type { Dispatcher } from 'undici';
import type { PublicJwk } from '../../protocol/worker-contract.js';
import { parseJwks } from '../config/jwks-load.js';
import { IssueList } from '../config/schema-reader.js';
import { getDocument } from './http-get.js';
import { timerDelay } from './timer-delay.js';
import { errorText } from '../../protocol/errors.js';

export interface RemoteJwksOptions {
  /** where the JWKS is, or how to find it (OIDC discovery from the issuer) */
  readonly source: { readonly url: string } | { readonly discoveryIssuer: string };
  /** how to connect for the OpenID configuration and the JWKS (a `tls` policy's; closed with
   * this set); default the global one */
  readonly dispatcher?: Dispatcher;
  readonly timeoutMs?: number;
  /** refresh interval when the server sets no caching headers (agentgateway: 15 min) */
  readonly defaultTtlMs?: number;
  /** never refresh more often than this because of caching headers */
  readonly minTtlMs?: number;
  /** never keep a set longer than this, whatever the caching headers say (default 24 h) */
  readonly maxTtlMs?: number;
  /** at most one unknown-kid refetch per this interval */
  readonly cooldownMs?: number;
  /** retry delay after a failed refresh */
  readonly retryMs?: number;
  readonly onRefresh: (event: RefreshEvent) => void;
}

export type RefreshEvent =
  | {
      readonly ok: true;
      readonly url: string;
      /** the keys differ from the ones last marked applied (markApplied); a startup fetch is applied */
      readonly changed: boolean;
      readonly reason: RefreshReason;
      readonly keys: number;
      /** names the key set now held, for markApplied */
      readonly fingerprint: string;
      readonly nextRefreshMs: number;
    }
  | { readonly ok: false; readonly url: string; readonly reason: RefreshReason; readonly error: string; readonly nextRefreshMs: number };

export type RefreshReason = 'startup' | 'schedule' | 'unknown_kid' | 'reload';

export interface RemoteJwks {
  keys(): readonly PublicJwk[];
  /** the last refresh error, or null when the last refresh worked */
  lastError(): string | null;
  /** Refetches now unless one ran within the cooldown; resolves true when the keys differ from
   * the ones last applied. */
  refreshForUnknownKid(): Promise<boolean>;
  /** The gateway runs with the keys of this fingerprint (a refresh event's). Until it says so, a
   * refresh compares with the keys it last applied, not with the last fetch: a config reload
   * fetches keys that its failed build may never have applied. */
  markApplied(fingerprint: string): void;
  /** Fetches once at start (errors are reported through onRefresh, not thrown). */
  start(): Promise<void>;
  /** Fetches now, whatever the cooldown (a config reload re-reads every key source). */
  reload(): Promise<void>;
  close(): void;
}

function fingerprint(keys: readonly PublicJwk[]): string {
  return keys.map((k) => JSON.stringify(k)).sort().join('\n');
}

/** The JWKS URL an issuer's OpenID configuration names. */
async function discoverJwksUrl(issuer: string, timeoutMs: number, dispatcher: Dispatcher | undefined): Promise<string> {
  const doc = await getDocument(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, timeoutMs, dispatcher);
  const meta: unknown = JSON.parse(doc.text);
  if (typeof meta !== 'object' || meta === null) throw new Error('OpenID configuration is not a JSON object');
  const docIssuer = 'issuer' in meta ? meta.issuer : undefined;
  const uri = 'jwks_uri' in meta ? meta.jwks_uri : undefined;
  // OpenID Connect Discovery §4.3: the document's issuer must be the one we asked about.
  if (docIssuer !== issuer) throw new Error(`OpenID configuration names issuer ${JSON.stringify(docIssuer)}, expected ${JSON.stringify(issuer)}`);
  if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw new Error('OpenID configuration has no http(s) jwks_uri');
  return uri;
}

/** A fetched document's keys; a document with no usable key at all is a failure (the caller
 * keeps the last good set). */
function keysOf(text: string): readonly PublicJwk[] {
  const issues = new IssueList();
  const keys = parseJwks(issues, text, 'jwks', 'jwks.keys');
  if (keys.length === 0 && issues.count > 0) throw new Error(issues.items.map((i) => `${i.path}: ${i.message}`).join('; '));
  return keys;
}

export function createRemoteJwks(o: RemoteJwksOptions): RemoteJwks {
  return new RemoteKeySet(o);
}

class RemoteKeySet implements RemoteJwks {
  readonly #o: RemoteJwksOptions;
  readonly #timeoutMs: number;
  readonly #cooldownMs: number;
  #keys: readonly PublicJwk[] = [];
  /** fingerprint of the keys the gateway runs with */
  #applied = '';
  #error: string | null = null;
  #jwksUrl: string | null;
  #pending: Promise<boolean> | null = null;
  #lastAttempt = -Infinity;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(o: RemoteJwksOptions) {
    this.#o = o;
    this.#timeoutMs = o.timeoutMs ?? 5_000;
    this.#cooldownMs = o.cooldownMs ?? 10_000;
    this.#jwksUrl = 'url' in o.source ? o.source.url : null;
  }

  keys(): readonly PublicJwk[] {
    return this.#keys;
  }

  lastError(): string | null {
    return this.#error;
  }

  markApplied(print: string): void {
    this.#applied = print;
  }

  refreshForUnknownKid(): Promise<boolean> {
    if (this.#pending !== null) return this.#pending;
    if (performance.now() - this.#lastAttempt < this.#cooldownMs) return Promise.resolve(false);
    return this.#refresh('unknown_kid');
  }

  async start(): Promise<void> {
    await this.#refresh('startup');
  }

  async reload(): Promise<void> {
    if (this.#pending !== null) await this.#pending;
    await this.#refresh('reload');
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    // A fetch under way finishes first; its result is then dropped.
    this.#o.dispatcher?.close().catch(() => undefined);
  }

  #label(): string {
    const source = this.#o.source;
    return this.#jwksUrl ?? ('discoveryIssuer' in source ? `${source.discoveryIssuer} (discovery)` : '');
  }

  async #url(): Promise<string> {
    if (this.#jwksUrl !== null) return this.#jwksUrl;
    const source = this.#o.source;
    if (!('discoveryIssuer' in source)) throw new Error('no JWKS URL');
    this.#jwksUrl = await discoverJwksUrl(source.discoveryIssuer, this.#timeoutMs, this.#o.dispatcher);
    return this.#jwksUrl;
  }

  /** Schedules the next background refresh; returns its delay. */
  #schedule(ms: number): number {
    const delay = timerDelay(ms);
    if (this.#closed) return delay;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#refresh('schedule');
    }, delay);
    this.#timer.unref();
    return delay;
  }

  /** One fetch at a time: a refresh asked for while one runs shares it. */
  #refresh(reason: RefreshReason): Promise<boolean> {
    this.#pending ??= this.#fetch(reason).finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #fetch(reason: RefreshReason): Promise<boolean> {
    const o = this.#o;
    this.#lastAttempt = performance.now();
    try {
      const url = await this.#url();
      const doc = await getDocument(url, this.#timeoutMs, o.dispatcher);
      const next = keysOf(doc.text);
      const nextPrint = fingerprint(next);
      // The startup fetch is what the caller builds its first key data from.
      if (reason === 'startup') this.#applied = nextPrint;
      const changed = nextPrint !== this.#applied;
      this.#keys = next;
      this.#error = null;
      const ttl = Math.min(o.maxTtlMs ?? 24 * 60 * 60_000, Math.max(o.minTtlMs ?? 60_000, doc.maxAgeMs ?? o.defaultTtlMs ?? 15 * 60_000));
      const nextRefreshMs = this.#schedule(ttl);
      o.onRefresh({ ok: true, url, changed, reason, keys: next.length, fingerprint: nextPrint, nextRefreshMs });
      return changed;
    } catch (err) {
      this.#error = errorText(err);
      o.onRefresh({ ok: false, url: this.#label(), reason, error: this.#error, nextRefreshMs: this.#schedule(o.retryMs ?? 15_000) });
      return false;
    }
  }
}
