// Route `policies` (agentgateway `FilterOrPolicy`). Portcullis implements the ones the enterprise
// SSO setup needs; every other policy agentgateway knows is reported as not supported rather than
// as an unknown key, so the user can tell a typo from a missing feature.

import { readBackendAuth } from './read-backend-auth.js';
import { readHeaderModifier, readTransformations } from './read-backend-policies.js';
import { readBackendTls } from './read-backend-tls.js';
import { readCors } from './read-cors.js';
import { readLocalRateLimit, readRetry, readTimeout } from './read-traffic.js';
import { readJwtAuth } from './read-jwt-auth.js';
import { readMcpAuthentication } from './read-mcp-authentication.js';
import { readRuleSet } from './read-rules.js';
import { type IssueList, MapReader } from './schema-reader.js';
import type { RoutePolicies } from './types.js';

const AGENTGATEWAY_ONLY = [
  // v0.10.5
  'requestRedirect',
  'urlRewrite',
  'requestMirror',
  'directResponse',
  'a2a',
  'ai',
  'remoteRateLimit',
  'extAuthz',
  'extProc',
  'csrf',
  // HEAD
  'mcpGuardrails',
  'backendTunnel',
  'oidc',
  'basicAuth',
  'apiKey',
  'buffer',
  'delay',
];

/** agentgateway attaches these to the route's backend, which needs exactly one backend. */
const BACKEND_POLICIES = ['mcpAuthorization', 'backendAuth', 'mcpAuthentication', 'a2a', 'backendTLS'];

export const NO_POLICIES: RoutePolicies = {
  cors: null,
  jwtAuth: null,
  authorization: null,
  mcpAuthorization: null,
  mcpAuthentication: null,
  backendAuth: null,
  requestHeaderModifier: null,
  responseHeaderModifier: null,
  transformations: null,
  timeout: null,
  retry: null,
  localRateLimit: null,
  backendTls: null,
};

export interface PoliciesRead {
  readonly policies: RoutePolicies;
  /** a backend policy is set, so the route must have exactly one backend */
  readonly needsSingleBackend: boolean;
}

export function readPolicies(issues: IssueList, path: string, value: unknown, cwd: string): PoliciesRead {
  if (value === undefined || value === null) return { policies: NO_POLICIES, needsSingleBackend: false };
  const m = MapReader.open(issues, path, value, {
    known: [
      'cors', 'jwtAuth', 'authorization', 'mcpAuthorization', 'mcpAuthentication', 'backendAuth', 'requestHeaderModifier',
      'responseHeaderModifier', 'transformations', 'timeout', 'retry', 'localRateLimit', 'backendTLS',
    ],
    unsupported: AGENTGATEWAY_ONLY,
  });
  if (m === undefined) return { policies: NO_POLICIES, needsSingleBackend: false };

  const optional = <T>(key: string, read: (p: string, v: unknown) => T | undefined): T | null => {
    const v = m.value(key);
    return v === undefined ? null : (read(m.at(key), v) ?? null);
  };
  if (m.has('jwtAuth') && m.has('mcpAuthentication')) {
    issues.add(m.at('mcpAuthentication'), 'cannot be combined with jwtAuth on the same route (mcpAuthentication brings its own JWT policy)');
  }
  const cors = optional('cors', (p, v) => readCors(issues, p, v));
  const jwtAuth = optional('jwtAuth', (p, v) => readJwtAuth(issues, p, v, cwd));
  if (cors !== null && cors.allowOrigins.any && cors.allowCredentials && jwtAuth?.location.kind === 'cookie') {
    // Any site's page could then call the route with the user's cookie and read the answers.
    issues.add(
      m.at('cors'),
      'allowOrigins "*" with allowCredentials: true cannot be combined with a token read from a cookie (jwtAuth.location.cookie), since every web page would act as the signed-in user; list the allowed origins',
    );
  }
  return {
    policies: {
      cors,
      jwtAuth,
      authorization: optional('authorization', (p, v) => readRuleSet(issues, p, v)),
      mcpAuthorization: optional('mcpAuthorization', (p, v) => readRuleSet(issues, p, v)),
      mcpAuthentication: optional('mcpAuthentication', (p, v) => readMcpAuthentication(issues, p, v, cwd)),
      backendAuth: optional('backendAuth', (p, v) => readBackendAuth(issues, p, v, cwd)),
      requestHeaderModifier: optional('requestHeaderModifier', (p, v) => readHeaderModifier(issues, p, v)),
      responseHeaderModifier: optional('responseHeaderModifier', (p, v) => readHeaderModifier(issues, p, v)),
      transformations: optional('transformations', (p, v) => readTransformations(issues, p, v)),
      timeout: optional('timeout', (p, v) => readTimeout(issues, p, v)),
      retry: optional('retry', (p, v) => readRetry(issues, p, v)),
      localRateLimit: optional('localRateLimit', (p, v) => readLocalRateLimit(issues, p, v)),
      backendTls: m.hasKey('backendTLS') ? (readBackendTls(issues, m.at('backendTLS'), m.raw('backendTLS'), cwd) ?? null) : null,
    },
    needsSingleBackend: BACKEND_POLICIES.some((k) => m.has(k)),
  };
}
