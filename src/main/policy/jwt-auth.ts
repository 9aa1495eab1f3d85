// jwtAuth: modes as agentgateway (strict / optional / permissive), the token from the bearer
// header, verification by the policy engine behind a verified-token cache.

import type { JwtMode } from '../config/types.js';
import type { CacheCounts, Claims, ReasonCode, VerifyResult, WorkerInit } from '../../protocol/worker-contract.js';
import type { EngineRunner } from '../policy-engine/runner.js';
import { then, type Maybe } from '../maybe-async.js';
import { rememberClaimsForCel } from '../../protocol/cel-values.js';
import { deepFreeze } from '../../protocol/deep-freeze.js';
import { InFlightVerifications } from './inflight-verifications.js';
import { VerifiedTokenCache, keyIdentity, liveKeys } from './token-cache.js';

export type AuthOutcome =
  | {
      readonly kind: 'pass';
      /** verified claims, or null when no valid token was presented (optional/permissive) */
      readonly claims: Claims | null;
      /** the verified token (for `backendAuth: passthrough`), null otherwise */
      readonly token: string | null;
      /** false only in permissive mode with an invalid token: agentgateway leaves the header in place */
      readonly stripAuthorization: boolean;
    }
  | { readonly kind: 'reject'; readonly reason: ReasonCode | 'missing'; readonly message: string };

export interface JwtAuthenticator {
  /** A value when no verification is needed (no token, a cached one). */
  authenticate(token: string | null): Maybe<AuthOutcome>;
  /** The engine now runs with `init`'s keys (a remote key set changed): cached tokens whose
   * exact key is gone are dropped, and so is any verification still running on the old keys. */
  keysChanged(init: WorkerInit): void;
  readonly cache: VerifiedTokenCache;
}

export interface AuthCounters {
  count(reason: ReasonCode | 'missing' | 'ok'): void;
}

export interface JwtAuthenticatorOptions {
  readonly mode: JwtMode;
  readonly providerSet: number;
  /** the current policy engine (replaced when a remote key set changes) */
  readonly engine: () => EngineRunner;
  readonly counters: AuthCounters;
  /** Refetches remote keys after an unknown `kid`; true when the key set changed (then verify once more). */
  readonly onUnknownKid: () => Promise<boolean>;
  /** Why keys may be missing (a failing JWKS endpoint), or null. Only that there is a problem
   * reaches the client, appended to an unknown-kid reason. */
  readonly keysProblem: () => string | null;
  readonly cache?: VerifiedTokenCache;
  /** where the verified-token cache counts its lookups (the gateway's metrics) */
  readonly cacheCounts?: CacheCounts;
}

export function createJwtAuthenticator(o: JwtAuthenticatorOptions): JwtAuthenticator {
  const { mode, providerSet, counters } = o;
  const cache = o.cache ?? new VerifiedTokenCache(10_000, o.cacheCounts);
  // Concurrent first requests with the same token share one verification.
  const inflight = new InFlightVerifications<AuthOutcome>();
  // The keys (keyIdentity) a result may be cached for; null until keys first change: every key
  // the engine started with.
  let live: ReadonlySet<string> | null = null;

  /** A promise while the signature waits (for the turn's batch on the loop, or the libuv pool)
   * or the keys are refetched after an unknown kid; a value when the engine answered at once. */
  function verify(token: string): Maybe<AuthOutcome> {
    const task = { op: 'verify', providerSet, token, now: Math.floor(Date.now() / 1000) } as const;
    return then(o.engine().verify(task), (result) => {
      if (result.ok || result.reason !== 'unknown_kid') return conclude(token, result);
      return o.onUnknownKid().then(async (changed) =>
        // A key rotation at the provider: picked up within this one request.
        conclude(token, changed ? await o.engine().verify(task) : result),
      );
    });
  }

  function conclude(token: string, result: VerifyResult): AuthOutcome {
    if (result.ok) {
      // Frozen: every request with this token shares the object, and what is derived from it
      // once (the list cache's key text) must stay true.
      const claims = deepFreeze(result.claims);
      if (cache.admits(token)) {
        const key = keyIdentity(result.issuer, result.kid, result.key);
        // Verified against keys replaced while it ran: this request passes, later ones verify again.
        if (live === null || live.has(key)) {
          cache.set(token, { claims, key, expiresAtMs: result.exp * 1000 });
          rememberClaimsForCel(claims);
        }
      }
      counters.count('ok');
      return { kind: 'pass', claims, token, stripAuthorization: true };
    }
    counters.count(result.reason);
    if (mode === 'permissive') return { kind: 'pass', claims: null, token: null, stripAuthorization: false };
    // The refresh error names internal addresses (`GET http://10.… failed: connect ECONNREFUSED`):
    // it stays in the log and metrics, for the operator.
    const failing = result.reason === 'unknown_kid' && o.keysProblem() !== null;
    return { kind: 'reject', reason: result.reason, message: failing ? `${result.detail} (JWKS refresh failing)` : result.detail };
  }

  return {
    cache,
    keysChanged(init) {
      live = liveKeys(init.providerSets.find((ps) => ps.id === providerSet)?.providers ?? []);
      cache.retainKeys(live);
      // Requests from now on must not join a verification against the old keys.
      inflight.clear();
    },
    authenticate(token) {
      if (token === null) {
        if (mode === 'strict') {
          counters.count('missing');
          return { kind: 'reject', reason: 'missing', message: 'no bearer token found' };
        }
        return { kind: 'pass', claims: null, token: null, stripAuthorization: true };
      }
      const hit = cache.get(token, Date.now());
      if (hit !== undefined) {
        counters.count('ok');
        return { kind: 'pass', claims: hit.claims, token, stripAuthorization: true };
      }
      const shared = inflight.get(token);
      if (shared !== undefined) return shared;
      const outcome = verify(token);
      // Checked on this thread: nothing ran meanwhile that could have shared it.
      if (!(outcome instanceof Promise)) return outcome;
      const pending: Promise<AuthOutcome> = outcome.finally(() => inflight.end(token, pending));
      inflight.add(token, pending);
      return pending;
    },
  };
}
