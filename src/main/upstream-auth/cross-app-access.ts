// backendAuth `crossAppAccess` (MCP Enterprise-Managed Authorization): leg 1 exchanges the
// caller's token at its identity provider for an ID-JAG bound to the resource authorization
// server (`audience`), leg 2 presents that ID-JAG as a jwt-bearer assertion there for an access
// token, which is what is cached and sent upstream. Leg 1 is classified like any exchange; any
// failure of leg 2, a refusal included, is the gateway's (500), as agentgateway's
// `FetchError::chained_exchange`.

import type { CrossAppAccessConfig } from '../config/types.js';
import { compileParams } from './cel-params.js';
import { clientAuthenticator } from './client-auth.js';
import { type BackendCredentialSource, backendAuthFailed } from './credential.js';
import { endpointResolver } from './endpoint.js';
import { type SourceDeps, endpointHttp, exchangeSource, httpSettings } from './exchange-source.js';
import { DEFAULT_LOCATION } from '../config/read-token-location.js';
import { TOKEN_TYPE_ID_JAG } from './oauth-uris.js';
import { tokenSource } from './subject.js';
import { type LegSpec, requestToken } from './token-leg.js';
import { outcomeOf, refusalOf } from './token-exchange.js';

export function crossAppAccessSource(config: CrossAppAccessConfig, deps: SourceDeps = {}): BackendCredentialSource {
  const http = httpSettings(deps);
  const now = deps.now ?? Date.now;
  const idp = config.identityProvider;
  const ras = config.resourceAuthorizationServer;
  const http1 = endpointHttp(http, idp.endpoint);
  const http2 = endpointHttp(http, ras.endpoint);
  const leg1: LegSpec = {
    endpoint: endpointResolver(idp.endpoint, http1),
    grantType: 'tokenExchange',
    audiences: [config.audience],
    scopes: config.scopes,
    resources: config.resources,
    requestedTokenType: TOKEN_TYPE_ID_JAG,
    authenticate: clientAuthenticator(idp.clientAuth, now),
    http: http1,
  };
  // The ID-JAG binds the resource, so leg 2 sends neither audience nor resource.
  const leg2: LegSpec = {
    endpoint: endpointResolver(ras.endpoint, http2),
    grantType: 'jwtBearer',
    audiences: [],
    scopes: config.accessTokenScopes,
    resources: [],
    requestedTokenType: null,
    authenticate: clientAuthenticator(ras.clientAuth, now),
    http: http2,
  };
  return exchangeSource(
    {
      subject: tokenSource(config.subjectToken.source),
      subjectTokenType: config.subjectToken.tokenType,
      actor: null,
      params: compileParams([]),
      fetch: async (inputs, callouts) => {
        const idJag = await requestToken(leg1, inputs, callouts);
        if (!idJag.ok) return refusalOf(idJag);
        const access = await requestToken(leg2, { subjectToken: idJag.accessToken, subjectTokenType: TOKEN_TYPE_ID_JAG, actor: null, params: [] }, callouts);
        if (access.ok) return access;
        return backendAuthFailed(`chained_${outcomeOf(access)}`, access.rejected ? `chained ${access.reason}` : access.reason, access.detail);
      },
      insert: DEFAULT_LOCATION,
      cache: config.cache,
    },
    deps,
  );
}
