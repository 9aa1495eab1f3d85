// A target's effective policies, built once per config generation from the route's, its
// backend's and its own (agentgateway HEAD: per policy type, the target's replaces the
// backend's, which replaces the route's): the credential source of its backendAuth (whose
// exchanged-token cache lives as long as the generation), and its header edits.

import type { BackendPolicies, RetryPolicy, RoutePolicies } from '../config/types.js';
import { credentialSource, type SourceDeps } from '../upstream-auth/credential-source.js';
import type { BackendCredentialSource, CredentialOutcome, CredentialRefusal } from '../upstream-auth/credential.js';
import { HeaderEdits } from './header-edits.js';

export interface TargetPolicies {
  readonly credential: BackendCredentialSource | null;
  /** whether the client's own Authorization field may go upstream: with no backendAuth (a plain
   * proxy, as agentgateway) or passthrough; any other backendAuth replaces it */
  readonly forwardsClientAuthorization: boolean;
  readonly request: HeaderEdits | null;
  readonly response: HeaderEdits | null;
  /** each attempt, until the answer's head (a backend's `http.requestTimeout`, or the route's
   * `timeout.backendRequestTimeout`) */
  readonly attemptTimeoutMs: number | null;
  /** the route's `retry` */
  readonly retry: RetryPolicy | null;
  /** a credential was had (for the metric) */
  readonly onCredential: (outcome: CredentialOutcome) => void;
  /** the call was refused for want of one (metric and log) */
  readonly onRefusal: (refusal: CredentialRefusal) => void;
}

export const NO_TARGET_POLICIES: TargetPolicies = {
  credential: null,
  forwardsClientAuthorization: true,
  request: null,
  response: null,
  attemptTimeoutMs: null,
  retry: null,
  onCredential: () => {},
  onRefusal: () => {},
};

export interface TargetPolicyHooks {
  readonly sourceDeps: SourceDeps;
  readonly onCredential: (outcome: CredentialOutcome) => void;
  readonly onRefusal: (refusal: CredentialRefusal) => void;
  /** a transformation's expression failed for a header (it was removed) */
  readonly onTransformError: (header: string) => void;
}

/** What of the route's policies its upstream requests carry, as a backend's would: the route's
 * `timeout.backendRequestTimeout` is the backends' `http.requestTimeout`. */
export function routeUpstreamPolicies(p: RoutePolicies): BackendPolicies {
  const perAttempt = p.timeout?.backendRequestTimeoutMs ?? null;
  return {
    backendAuth: p.backendAuth,
    requestHeaderModifier: p.requestHeaderModifier,
    responseHeaderModifier: p.responseHeaderModifier,
    transformations: p.transformations,
    http: perAttempt === null ? null : { requestTimeoutMs: perAttempt, pipelining: null },
    backendTls: p.backendTls,
  };
}

/** Per policy type, the most specific layer that sets it. */
export function mergePolicies(route: BackendPolicies, backend: BackendPolicies, target: BackendPolicies | null): BackendPolicies {
  const pick = <K extends keyof BackendPolicies>(key: K): BackendPolicies[K] => target?.[key] ?? backend[key] ?? route[key];
  return {
    backendAuth: pick('backendAuth'),
    requestHeaderModifier: pick('requestHeaderModifier'),
    responseHeaderModifier: pick('responseHeaderModifier'),
    transformations: pick('transformations'),
    http: pick('http'),
    backendTls: pick('backendTls'),
  };
}

export function buildTargetPolicies(p: BackendPolicies, retry: RetryPolicy | null, hooks: TargetPolicyHooks): TargetPolicies {
  const auth = p.backendAuth;
  const request = HeaderEdits.compile(p.requestHeaderModifier, p.transformations?.request ?? null, hooks.onTransformError);
  const response = HeaderEdits.compile(p.responseHeaderModifier, p.transformations?.response ?? null, hooks.onTransformError);
  const attemptTimeoutMs = p.http?.requestTimeoutMs ?? null;
  if (auth === null && request === null && response === null && attemptTimeoutMs === null && retry === null) return NO_TARGET_POLICIES;
  return {
    credential: auth === null ? null : credentialSource(auth, hooks.sourceDeps),
    forwardsClientAuthorization: auth === null || auth.kind === 'passthrough',
    request,
    response,
    attemptTimeoutMs,
    retry: retry !== null && retry.attempts > 1 ? retry : null,
    onCredential: hooks.onCredential,
    onRefusal: hooks.onRefusal,
  };
}
