// What oauthTokenExchange and crossAppAccess share per upstream call: read the subject (and
// actor) token, evaluate additionalParams, then serve the exchanged token from the cache or
// fetch it (once for concurrent callers), and answer with it at the configured location after
// stripping the client's subject and actor credentials. Anything missing or failing refuses the
// call: nothing is ever sent upstream in place of the exchanged token.

import type { Dispatcher } from 'undici';
import type { TokenCacheConfig, TokenEndpoint, TokenLocation } from '../config/types.js';
import { tlsDispatcher } from '../http/tls-client.js';
import type { CacheCounts } from '../../protocol/worker-contract.js';
import type { ParamsResult } from './cel-params.js';
import {
  type BackendCredentialSource, type CallerIdentity, type Credential, type CredentialRefusal, type CredentialRemove,
  authorizationFailed, backendAuthFailed, invalidRequest,
} from './credential.js';
import { ExchangeCache, type ExchangeInputs, cacheKey, expiryOf } from './exchange-cache.js';
import { insertAt } from './locations.js';
import { type TokenSource, mayAct } from './subject.js';
import type { HttpSettings } from './token-http.js';
import type { CalloutTracer } from '../telemetry/tracing.js';
import { errorText } from '../../protocol/errors.js';

/** What the gateway hands every source it builds; all optional. */
export interface SourceDeps {
  /** wall clock, ms since the epoch (tests pass their own) */
  readonly now?: () => number;
  /** undici dispatcher for token endpoint and metadata calls (a backendTLS policy's) */
  readonly dispatcher?: Dispatcher;
  /** deadline of one token endpoint call (default 10 s, agentgateway's) */
  readonly timeoutMs?: number;
  /** most bytes read from one answer (default 1 MiB) */
  readonly maxResponseBytes?: number;
  /** where the exchanged-token cache counts lookups (the gateway's metrics) */
  readonly cacheCounts?: CacheCounts;
}

export const TOKEN_ENDPOINT_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export function httpSettings(deps: SourceDeps): HttpSettings {
  return {
    timeoutMs: deps.timeoutMs ?? TOKEN_ENDPOINT_TIMEOUT_MS,
    maxBytes: deps.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
  };
}

/** The settings for calls to `endpoint` (and its issuer's metadata): through its backendTLS
 * policy's connections when it has one. */
export function endpointHttp(http: HttpSettings, endpoint: TokenEndpoint): HttpSettings {
  const dispatcher = tlsDispatcher(endpoint.tls);
  return dispatcher === undefined ? http : { ...http, dispatcher };
}

export type Fetched = { readonly ok: true; readonly accessToken: string; readonly expiresIn: number | null } | CredentialRefusal;

export interface ExchangePlan {
  readonly subject: TokenSource;
  readonly subjectTokenType: string;
  readonly actor: { readonly source: TokenSource; readonly tokenType: string; readonly enforceMayAct: boolean } | null;
  readonly params: (caller: CallerIdentity) => ParamsResult;
  /** the exchange itself: one leg, or two for crossAppAccess; its calls traced under `callouts` */
  readonly fetch: (inputs: ExchangeInputs, callouts: CalloutTracer | null) => Promise<Fetched>;
  readonly insert: TokenLocation;
  readonly cache: TokenCacheConfig;
}

export function exchangeSource(plan: ExchangePlan, deps: SourceDeps): BackendCredentialSource {
  const now = deps.now ?? Date.now;
  const cache = plan.cache.maxEntries > 0 ? new ExchangeCache<Fetched>(plan.cache.maxEntries, now, deps.cacheCounts) : null;
  const removes: CredentialRemove[] = [];
  if (plan.subject.removal !== null) removes.push(plan.subject.removal);
  if (plan.actor?.source.removal != null) removes.push(plan.actor.source.removal);

  const answer = (token: string, outcome: 'cache_hit' | 'exchanged'): Credential => ({ ok: true, removes, inserts: [insertAt(plan.insert, token)], outcome });

  /** Fetches and, when the token will live past the safety margin, keeps it. */
  const fetchAndKeep = async (key: string, inputs: ExchangeInputs, callouts: CalloutTracer | null): Promise<Fetched> => {
    const fetched = await fetchSafely(plan, inputs, callouts);
    if (fetched.ok && cache !== null) cache.set(key, fetched.accessToken, expiryOf(now(), fetched.expiresIn, plan.cache.defaultTtlSeconds, inputs.subjectToken));
    return fetched;
  };

  return {
    cacheCounts: cache?.counts ?? null,
    credential(caller, waiting) {
      const inputs = inputsOf(plan, caller);
      if ('ok' in inputs) return inputs;
      let fetched: Promise<Fetched>;
      // Concurrent callers share one fetch: it is traced under the first one's call.
      const callouts = caller.callouts ?? null;
      if (cache === null) fetched = fetchSafely(plan, inputs, callouts);
      else {
        const key = cacheKey(inputs);
        const hit = cache.get(key);
        if (hit !== undefined) return answer(hit, 'cache_hit');
        fetched = cache.shared(key, () => fetchAndKeep(key, inputs, callouts));
      }
      return untilAborted(fetched, waiting()).then((f) => (f.ok ? answer(f.accessToken, 'exchanged') : f));
    },
  };
}

/** The plan's fetch, whose failures are all answers: a throw (a bug) refuses the call too, and
 * so does a token that would end the Cookie header it goes into. */
async function fetchSafely(plan: ExchangePlan, inputs: ExchangeInputs, callouts: CalloutTracer | null): Promise<Fetched> {
  try {
    const fetched = await plan.fetch(inputs, callouts);
    if (fetched.ok && plan.insert.kind === 'cookie' && fetched.accessToken.includes(';')) {
      return backendAuthFailed('bad_response', 'token exchange response contained an access_token that cannot be sent', 'access_token holds ";" and goes into a cookie');
    }
    return fetched;
  } catch (err: unknown) {
    return backendAuthFailed('internal', 'token exchange failed', errorText(err));
  }
}

/** The exchange's inputs from the caller's request, or why the call is refused. */
function inputsOf(plan: ExchangePlan, caller: CallerIdentity): ExchangeInputs | CredentialRefusal {
  const subjectToken = plan.subject.read(caller);
  // agentgateway fails closed here (1.4.1): no subject, no exchange, nothing forwarded.
  if (subjectToken === null) return invalidRequest('missing_subject', 'no subject token in the request');
  let actor: ExchangeInputs['actor'] = null;
  if (plan.actor !== null) {
    const token = plan.actor.source.read(caller);
    if (token === null) return invalidRequest('missing_actor', 'no actor token in the request');
    if (plan.actor.enforceMayAct && !mayAct(caller, subjectToken, token)) {
      return authorizationFailed('may_act', "the subject's may_act claim does not name the actor");
    }
    actor = { token, tokenType: plan.actor.tokenType };
  }
  const params = plan.params(caller);
  if (!params.ok) return invalidRequest('param_error', `additionalParams.${params.name} did not evaluate to a string`);
  return { subjectToken, subjectTokenType: plan.subjectTokenType, actor, params: params.params };
}

/** The shared fetch's outcome, or a refusal as soon as this caller's signal aborts. */
function untilAborted(shared: Promise<Fetched>, signal: AbortSignal): Promise<Fetched> {
  const aborted = backendAuthFailed('aborted', 'the request was aborted');
  if (signal.aborted) return Promise.resolve(aborted);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    void shared.then((f) => {
      signal.removeEventListener('abort', onAbort);
      resolve(f);
    });
  });
}
