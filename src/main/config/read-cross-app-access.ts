// backendAuth `crossAppAccess` (agentgateway HEAD `CrossAppAccessAuthConfig`): a token exchange
// at the user's identity provider for an ID-JAG, then a jwt-bearer grant with it at the resource
// authorization server. Each server is its own client registration, so `clientAuth` is required.

import { readClientAuth } from './read-client-auth.js';
import { ENDPOINT_KEYS, readTokenEndpoint } from './read-token-endpoint.js';
import { readTokenCache, readTokenSpec } from './read-token-exchange.js';
import type { MapReader } from './schema-reader.js';
import type { CrossAppAccessConfig, CrossAppAccessEndpoint } from './types.js';
import { TOKEN_TYPE_ID, TOKEN_TYPE_ID_JAG } from '../upstream-auth/oauth-uris.js';

export function readCrossAppAccess(parent: MapReader, key: string, cwd: string): CrossAppAccessConfig | undefined {
  const m = parent.map(key, {
    known: ['identityProvider', 'resourceAuthorizationServer', 'audience', 'resources', 'scopes', 'accessTokenScopes', 'subjectToken', 'cache'],
  });
  if (m === undefined) return undefined;
  const identityProvider = readEndpoint(m, 'identityProvider', cwd);
  const resourceAuthorizationServer = readEndpoint(m, 'resourceAuthorizationServer', cwd);
  const audience = m.string('audience', { required: true, nonEmpty: true });
  const resources = m.stringList('resources') ?? [];
  const scopes = m.stringList('scopes') ?? [];
  // Unset: leg 2 asks for the leg-1 scopes; `[]`: leg 2 sends no scope.
  const accessTokenScopes = m.has('accessTokenScopes') ? m.stringList('accessTokenScopes') : scopes;
  const subjectToken = readTokenSpec(m, 'subjectToken', TOKEN_TYPE_ID);
  if (subjectToken?.tokenType === TOKEN_TYPE_ID_JAG) {
    m.issues.add(`${m.at('subjectToken')}.tokenType`, 'an ID-JAG cannot be the subject token');
  }
  const cache = readTokenCache(m);
  if (
    identityProvider === undefined || resourceAuthorizationServer === undefined || audience === undefined ||
    accessTokenScopes === undefined || subjectToken === undefined || subjectToken.tokenType === TOKEN_TYPE_ID_JAG || cache === undefined
  ) {
    return undefined;
  }
  return { identityProvider, resourceAuthorizationServer, audience, resources, scopes, accessTokenScopes, subjectToken, cache };
}

function readEndpoint(parent: MapReader, key: string, cwd: string): CrossAppAccessEndpoint | undefined {
  const m = parent.map(key, { known: [...ENDPOINT_KEYS.known, 'clientAuth'], unsupported: ENDPOINT_KEYS.unsupported }, true);
  if (m === undefined) return undefined;
  const endpoint = readTokenEndpoint(m, cwd);
  const clientAuth = readClientAuth(m, 'clientAuth', cwd, true);
  return endpoint === undefined || clientAuth === undefined ? undefined : { endpoint, clientAuth };
}
