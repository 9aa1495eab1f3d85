// backendAuth `oauthTokenExchange`: one RFC 8693 token exchange or RFC 7523 jwt-bearer grant per
// caller (cached), its token sent upstream in place of the caller's. A refusal of what the
// caller brought (4xx other than 401/403) is the client's 400 `invalid request`; every other
// failure is 500 `backend authentication failed: <what failed>`.

import type { TokenExchangeConfig } from '../config/types.js';
import { compileParams } from './cel-params.js';
import { clientAuthenticator } from './client-auth.js';
import { type BackendCredentialSource, backendAuthFailed, invalidRequest } from './credential.js';
import { endpointResolver } from './endpoint.js';
import { type Fetched, type SourceDeps, endpointHttp, exchangeSource, httpSettings } from './exchange-source.js';
import { tokenSource } from './subject.js';
import { type LegResult, requestToken } from './token-leg.js';

export function tokenExchangeSource(config: TokenExchangeConfig, deps: SourceDeps = {}): BackendCredentialSource {
  const http = endpointHttp(httpSettings(deps), config.endpoint);
  const leg = {
    endpoint: endpointResolver(config.endpoint, http),
    grantType: config.grantType,
    audiences: config.audiences,
    scopes: config.scopes,
    resources: config.resources,
    requestedTokenType: config.requestedTokenType,
    authenticate: clientAuthenticator(config.clientAuth, deps.now ?? Date.now),
    http,
  };
  const actor = config.actorToken;
  return exchangeSource(
    {
      subject: tokenSource(config.subjectToken.source),
      subjectTokenType: config.subjectToken.tokenType,
      actor: actor === null ? null : { source: tokenSource(actor.source), tokenType: actor.tokenType, enforceMayAct: actor.enforceMayAct },
      params: compileParams(config.additionalParams),
      fetch: async (inputs, callouts) => refusalOf(await requestToken(leg, inputs, callouts)),
      insert: config.authorizationLocation,
      cache: config.cache,
    },
    deps,
  );
}

/** A leg's failure as the client's answer (agentgateway `FetchError::into_proxy_error`). */
export function refusalOf(result: LegResult): Fetched {
  if (result.ok) return result;
  if (result.rejected) return invalidRequest('endpoint_rejected', result.detail);
  return backendAuthFailed(outcomeOf(result), result.reason, result.detail);
}

export function outcomeOf(result: LegResult & { readonly ok: false }): string {
  if (result.status !== null) return 'endpoint_error';
  return result.reason.startsWith('token exchange request failed') ? 'endpoint_unreachable' : 'bad_response';
}
