// The gateway's errors: one base class, one code per kind of failure. A code is what tests,
// logs and clients can tell failures apart by (a refusal's answer carries it: see
// src/main/refusals.ts); the message is for people. No I/O.

export type ErrorCode =
  // configuration and start
  | 'GW_CONFIG_INVALID'
  | 'GW_LISTEN_FAILED'
  | 'GW_OPS_ADDRESS'
  | 'GW_UWS_NATIVE_MISSING'
  // the gateway's own work
  | 'GW_IDP_FETCH_FAILED'
  | 'GW_OVERLOADED'
  | 'GW_BUFFER_BUDGET'
  | 'GW_SSE_EVENT_TOO_LARGE'
  | 'GW_ANSWER_TOO_LARGE'
  | 'GW_ANSWER_FAILED'
  | 'GW_STREAM_OVERRUN'
  | 'GW_UPSTREAM_SESSION_ENDED'
  | 'GW_CHANNEL_LIMIT'
  // refusals: what a request is answered when the gateway answers it itself
  | RefusalCode;

export type RefusalCode =
  | 'GW_LISTENER_NOT_FOUND'
  | 'GW_ROUTE_NOT_FOUND'
  | 'GW_METHOD_NOT_ALLOWED'
  | 'GW_SHUTTING_DOWN'
  | 'GW_UNAUTHENTICATED'
  | 'GW_FORBIDDEN'
  | 'GW_NO_BACKEND'
  | 'GW_ORIGIN_NOT_ALLOWED'
  | 'GW_BAD_REQUEST'
  | 'GW_UNSUPPORTED_MEDIA_TYPE'
  | 'GW_BODY_TOO_LARGE'
  | 'GW_BUSY'
  | 'GW_INVALID_MESSAGE'
  | 'GW_SESSION_NOT_FOUND'
  | 'GW_SESSION_REQUIRED'
  | 'GW_SESSION_LIMIT'
  | 'GW_TOO_MANY_IN_FLIGHT'
  | 'GW_UNKNOWN_TARGET'
  | 'GW_METHOD_NOT_FOUND'
  | 'GW_RATE_LIMITED'
  | 'GW_CALLER_LIMIT'
  | 'GW_BACKEND_AUTH'
  | 'GW_REQUEST_TIMEOUT'
  | 'GW_UPSTREAM_TIMEOUT'
  | 'GW_UPSTREAM_UNAVAILABLE'
  | 'GW_UPSTREAM_ANSWER'
  | 'GW_CHANNEL_FAILED'
  | 'GW_INTERNAL';

export class GatewayError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** What any thrown value says, as text (a non-Error throw included). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
