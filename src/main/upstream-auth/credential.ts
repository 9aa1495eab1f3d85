// What an upstream call is authenticated with. A credential source (one per backendAuth policy
// instance, built once per config generation) answers each call with where to write what, and
// which of the client's credentials to strip, or with the refusal the client gets instead. It
// knows nothing of transports: the caller applies the answer to the upstream request (see
// apply-credential.ts for the plain header/path form).

import type { CacheCounts, Claims } from '../../protocol/worker-contract.js';
import type { CalloutTracer } from '../telemetry/tracing.js';

/** Who the upstream call is made for. */
export interface CallerIdentity {
  /** the caller's token as jwtAuth / mcpAuthentication verified it; null when none was */
  readonly token: string | null;
  /** its claims; null with no verified token */
  readonly claims: Claims | null;
  /** the client's request headers as it sent them (lower-case names), before the gateway
   * removed the credential it verified: subject and actor token sources read these */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** the client's request query string without `?` ('' when none), for queryParameter sources */
  readonly query: string;
  /** where the calls made to get the credential (token endpoints) are traced, when they are */
  readonly callouts?: CalloutTracer;
}

/** Where a credential goes on the upstream request. */
export type CredentialInsert =
  /** replaces every copy of the header; `value` includes the location's prefix */
  | { readonly kind: 'header'; readonly name: string; readonly value: string }
  /** replaces the query parameter (the caller encodes it) */
  | { readonly kind: 'queryParameter'; readonly name: string; readonly value: string }
  /** replaces the cookie of that name in the Cookie header, keeping the others */
  | { readonly kind: 'cookie'; readonly name: string; readonly value: string };

/** A client credential to strip before the inserts (the subject or actor token's source). */
export type CredentialRemove =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'queryParameter'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

/** How the credential was had, for a metric label. */
export type CredentialOutcome = 'static' | 'passthrough' | 'cache_hit' | 'exchanged';

export type Credential =
  | {
      readonly ok: true;
      /** applied first */
      readonly removes: readonly CredentialRemove[];
      /** applied in order after the removes (a later insert at the same place wins) */
      readonly inserts: readonly CredentialInsert[];
      readonly outcome: CredentialOutcome;
    }
  | CredentialRefusal;

/** The upstream call must not be made; the client gets `status` with `message` (text/plain, or
 * a JSON-RPC error). Neither `message` nor `detail` ever holds a token or a secret. */
export interface CredentialRefusal {
  readonly ok: false;
  /** 400 `invalid request` (the caller's side), 403 `authorization failed`, 500 `backend authentication failed: …` */
  readonly status: 400 | 403 | 500;
  readonly message: string;
  /** short label for a metric: missing_subject, endpoint_rejected, endpoint_error, … */
  readonly outcome: string;
  /** for the operator's log: what the endpoint said, addresses included */
  readonly detail: string;
}

export interface BackendCredentialSource {
  /** `waiting` gives the signal that ends this caller's wait (an exchange other callers share
   * goes on without it); asked for only when there is a wait, since an AbortController costs
   * more than serving a cached token. */
  credential(caller: CallerIdentity, waiting: () => AbortSignal): Credential | Promise<Credential>;
  /** lookups of the exchanged-token cache, null for sources without one */
  readonly cacheCounts: CacheCounts | null;
}

export function invalidRequest(outcome: string, detail: string): CredentialRefusal {
  return { ok: false, status: 400, message: 'invalid request', outcome, detail };
}

export function authorizationFailed(outcome: string, detail: string): CredentialRefusal {
  return { ok: false, status: 403, message: 'authorization failed', outcome, detail };
}

/** `reason` is shown to the client: it must name what failed, never carry what was sent. */
export function backendAuthFailed(outcome: string, reason: string, detail = reason): CredentialRefusal {
  return { ok: false, status: 500, message: `backend authentication failed: ${reason}`, outcome, detail };
}
