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

export function createRemoteJwks(o: RemoteJwksOptions): RemoteJwks {
  const timeoutMs = o.timeoutMs ?? 5_000;
  const defaultTtlMs = o.defaultTtlMs ?? 15 * 60_000;
  const minTtlMs = o.minTtlMs ?? 60_000;
  const maxTtlMs = o.maxTtlMs ?? 24 * 60 * 60_000;
  const cooldownMs = o.cooldownMs ?? 10_000;
  const retryMs = o.retryMs ?? 15_000;
  let keys: readonly PublicJwk[] = [];
  let applied = '';
  let error: string | null = null;
  let jwksUrl: string | null = 'url' in o.source ? o.source.url : null;
  let pending: Promise<boolean> | null = null;
  let lastAttempt = -Infinity;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const label = (): string => jwksUrl ?? ('discoveryIssuer' in o.source ? `${o.source.discoveryIssuer} (discovery)` : '');

  async function resolveUrl(): Promise<string> {
    if (jwksUrl !== null) return jwksUrl;
    if (!('discoveryIssuer' in o.source)) throw new Error('no JWKS URL');
    const issuer = o.source.discoveryIssuer;
    const doc = await getDocument(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, timeoutMs, o.dispatcher);
    const meta: unknown = JSON.parse(doc.text);
    if (typeof meta !== 'object' || meta === null) throw new Error('OpenID configuration is not a JSON object');
    const docIssuer = 'issuer' in meta ? meta.issuer : undefined;
    const uri = 'jwks_uri' in meta ? meta.jwks_uri : undefined;
    // OpenID Connect Discovery §4.3: the document's issuer must be the one we asked about.
    if (docIssuer !== issuer) throw new Error(`OpenID configuration names issuer ${JSON.stringify(docIssuer)}, expected ${JSON.stringify(issuer)}`);
    if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw new Error('OpenID configuration has no http(s) jwks_uri');
    jwksUrl = uri;
    return uri;
  }

  /** Schedules the next background refresh; returns its delay. */
  function schedule(ms: number): number {
    const delay = timerDelay(ms);
    if (closed) return delay;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void refresh('schedule');
    }, delay);
    timer.unref();
    return delay;
  }

  function refresh(reason: RefreshReason): Promise<boolean> {
    pending ??= (async () => {
      lastAttempt = performance.now();
      try {
        const url = await resolveUrl();
        const doc = await getDocument(url, timeoutMs, o.dispatcher);
        const issues = new IssueList();
        const next = parseJwks(issues, doc.text, 'jwks', 'jwks.keys');
        // A document with no usable key at all is treated as a failure: keep the last good set.
        if (next.length === 0 && issues.count > 0) throw new Error(issues.items.map((i) => `${i.path}: ${i.message}`).join('; '));
        const nextPrint = fingerprint(next);
        // The startup fetch is what the caller builds its first key data from.
        if (reason === 'startup') applied = nextPrint;
        const changed = nextPrint !== applied;
        keys = next;
        error = null;
        const nextRefreshMs = schedule(Math.min(maxTtlMs, Math.max(minTtlMs, doc.maxAgeMs ?? defaultTtlMs)));
        o.onRefresh({ ok: true, url, changed, reason, keys: next.length, fingerprint: nextPrint, nextRefreshMs });
        return changed;
      } catch (err) {
        error = errorText(err);
        o.onRefresh({ ok: false, url: label(), reason, error, nextRefreshMs: schedule(retryMs) });
        return false;
      } finally {
        pending = null;
      }
    })();
    return pending;
  }

  return {
    keys: () => keys,
    lastError: () => error,
    markApplied(print) {
      applied = print;
    },
    refreshForUnknownKid() {
      if (pending !== null) return pending;
      if (performance.now() - lastAttempt < cooldownMs) return Promise.resolve(false);
      return refresh('unknown_kid');
    },
    start: async () => {
      await refresh('startup');
    },
    reload: async () => {
      if (pending !== null) await pending;
      await refresh('reload');
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      // A fetch under way finishes first; its result is then dropped.
      o.dispatcher?.close().catch(() => undefined);
    },
  };
}
