// backendAuth `oauthTokenExchange` (agentgateway HEAD `OAuthTokenExchangeAuth`): an RFC 8693
// token exchange or an RFC 7523 jwt-bearer grant at a token endpoint, with the cross-field rules
// agentgateway checks at load (`validate_load`).

import { parseDurationMs } from './duration.js';
import { readClientAuth } from './read-client-auth.js';
import { ENDPOINT_KEYS, readTokenEndpoint } from './read-token-endpoint.js';
import { readInsertLocation, readSourceLocation } from './read-token-location.js';
import { type MapReader, isPlainObject, keyPath } from './schema-reader.js';
import type { TokenCacheConfig, TokenExchangeConfig, TokenSpecConfig } from './types.js';
import {
  RESERVED_PARAMS, TOKEN_TYPE_ACCESS, TOKEN_TYPE_ID, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_JWT, isAbsoluteUriWithoutFragment,
} from '../upstream-auth/oauth-uris.js';
import { celCompileError } from '../upstream-auth/cel-params.js';

const FIELDS = [
  'grantType', 'subjectToken', 'actorToken', 'audiences', 'scopes', 'resources', 'requestedTokenType', 'clientAuth',
  'additionalParams', 'authorizationLocation', 'cache',
];

/** agentgateway's cache defaults (`cache.rs`). */
export const DEFAULT_TOKEN_CACHE: TokenCacheConfig = { maxEntries: 8192, defaultTtlSeconds: 300 };

const REQUESTABLE = [TOKEN_TYPE_ACCESS, TOKEN_TYPE_JWT, TOKEN_TYPE_ID];

export function readTokenExchange(parent: MapReader, key: string, cwd: string): TokenExchangeConfig | undefined {
  const m = parent.map(key, { known: [...ENDPOINT_KEYS.known, ...FIELDS], unsupported: ENDPOINT_KEYS.unsupported });
  if (m === undefined) return undefined;
  const endpoint = readTokenEndpoint(m, cwd);
  const grantType = m.oneOf('grantType', ['tokenExchange', 'jwtBearer'] as const) ?? (m.has('grantType') ? undefined : 'tokenExchange');
  const subjectToken = readTokenSpec(m, 'subjectToken', TOKEN_TYPE_ACCESS);
  const actorToken = readActorToken(m);
  if (grantType === 'jwtBearer' && m.has('actorToken')) m.issues.add(m.at('actorToken'), 'only valid with grantType tokenExchange');
  const requestedTokenType = readRequestedTokenType(m, grantType);
  const clientAuth = m.has('clientAuth') ? readClientAuth(m, 'clientAuth', cwd) : null;
  const additionalParams = readAdditionalParams(m);
  const authorizationLocation = readInsertLocation(m, 'authorizationLocation');
  const cache = readTokenCache(m);
  const audiences = m.stringList('audiences') ?? [];
  const scopes = m.stringList('scopes') ?? [];
  const resources = m.stringList('resources') ?? [];
  if (
    endpoint === undefined || grantType === undefined || subjectToken === undefined || actorToken === undefined ||
    requestedTokenType === undefined || clientAuth === undefined || additionalParams === undefined ||
    authorizationLocation === undefined || cache === undefined || (grantType === 'jwtBearer' && actorToken !== null)
  ) {
    return undefined;
  }
  return {
    endpoint, grantType, subjectToken, actorToken, audiences, scopes, resources, requestedTokenType, clientAuth,
    additionalParams, authorizationLocation, cache,
  };
}

/** `subjectToken: {source?, tokenType?}`; an absent source is the caller's bearer token. */
export function readTokenSpec(parent: MapReader, key: string, defaultType: string): TokenSpecConfig | undefined {
  const m = parent.map(key, { known: ['source', 'tokenType'] });
  if (m === undefined) return parent.has(key) ? undefined : { source: null, tokenType: defaultType };
  const source = m.has('source') ? readSourceLocation(m, 'source') : null;
  const tokenType = readTokenType(m) ?? (m.has('tokenType') ? undefined : defaultType);
  return source === undefined || tokenType === undefined ? undefined : { source, tokenType };
}

function readActorToken(parent: MapReader): TokenExchangeConfig['actorToken'] | undefined {
  const m = parent.map('actorToken', { known: ['source', 'tokenType', 'enforceMayAct'] });
  if (m === undefined) return parent.has('actorToken') ? undefined : null;
  // No default source: the actor and the subject must never be the same credential by accident.
  const source = readSourceLocation(m, 'source');
  const tokenType = readTokenType(m) ?? (m.has('tokenType') ? undefined : TOKEN_TYPE_ACCESS);
  const enforceMayAct = m.boolean('enforceMayAct') ?? false;
  if (enforceMayAct && tokenType !== undefined && tokenType !== TOKEN_TYPE_JWT) {
    m.issues.add(m.at('enforceMayAct'), `requires tokenType ${TOKEN_TYPE_JWT}`);
    return undefined;
  }
  return source === undefined || tokenType === undefined ? undefined : { source, tokenType, enforceMayAct };
}

/** `tokenType`: any absolute URI without a fragment (custom URNs allowed, as agentgateway). */
function readTokenType(m: MapReader): string | undefined {
  const t = m.string('tokenType', { nonEmpty: true });
  if (t === undefined || isAbsoluteUriWithoutFragment(t)) return t;
  m.issues.add(m.at('tokenType'), 'expected an absolute URI without a fragment (e.g. urn:ietf:params:oauth:token-type:jwt)');
  return undefined;
}

function readRequestedTokenType(m: MapReader, grantType: string | undefined): string | null | undefined {
  if (!m.has('requestedTokenType')) return null;
  const t = m.string('requestedTokenType', { nonEmpty: true });
  if (t === undefined) return undefined;
  if (grantType === 'jwtBearer') {
    m.issues.add(m.at('requestedTokenType'), 'only valid with grantType tokenExchange');
    return undefined;
  }
  if (REQUESTABLE.includes(t)) return t;
  m.issues.add(
    m.at('requestedTokenType'),
    t === TOKEN_TYPE_ID_JAG
      ? 'an ID-JAG is only requested by backendAuth.crossAppAccess'
      : `expected one of ${REQUESTABLE.join(', ')} (custom token types are only taken for subjectToken and actorToken)`,
  );
  return undefined;
}

/** `additionalParams: {name: CEL}`, sorted by name; none may stand in for a reserved parameter. */
function readAdditionalParams(m: MapReader): TokenExchangeConfig['additionalParams'] | undefined {
  const v = m.value('additionalParams');
  if (v === undefined) return [];
  if (!isPlainObject(v)) {
    m.issues.add(m.at('additionalParams'), 'expected a mapping of parameter names to CEL expressions');
    return undefined;
  }
  let ok = true;
  const params: Array<{ name: string; expr: string }> = [];
  for (const [name, expr] of Object.entries(v)) {
    const problem = paramProblem(name, expr);
    if (problem !== null) {
      m.issues.add(keyPath(m.at('additionalParams'), name), problem);
      ok = false;
    } else if (typeof expr === 'string') params.push({ name, expr });
  }
  return ok ? params.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : undefined;
}

function paramProblem(name: string, expr: unknown): string | null {
  if (name === '') return 'expected a non-empty parameter name';
  if (RESERVED_PARAMS.includes(name.toLowerCase())) return 'overrides a reserved OAuth parameter';
  if (typeof expr !== 'string' || expr === '') return "expected a CEL expression returning a string (a literal needs inner quotes: '\"value\"')";
  const error = celCompileError(expr);
  return error === null ? null : `CEL does not parse: ${error}`;
}

/** `cache: {maxEntries?, defaultTtl?}`; `defaultTtl: 0s` means the default, as agentgateway. */
export function readTokenCache(parent: MapReader): TokenCacheConfig | undefined {
  const m = parent.map('cache', { known: ['maxEntries', 'defaultTtl'] });
  if (m === undefined) return parent.has('cache') ? undefined : DEFAULT_TOKEN_CACHE;
  const maxEntries = m.integer('maxEntries', { min: 0, max: 0xffffffff }) ?? (m.has('maxEntries') ? undefined : DEFAULT_TOKEN_CACHE.maxEntries);
  const ttlText = m.string('defaultTtl');
  const ttlMs = ttlText === undefined ? 0 : parseDurationMs(ttlText);
  if (ttlText !== undefined && ttlMs === undefined) m.issues.add(m.at('defaultTtl'), 'expected a duration such as 300s or 5m');
  if (maxEntries === undefined || ttlMs === undefined || (m.has('defaultTtl') && ttlText === undefined)) return undefined;
  return { maxEntries, defaultTtlSeconds: ttlMs === 0 ? DEFAULT_TOKEN_CACHE.defaultTtlSeconds : Math.ceil(ttlMs / 1000) };
}
