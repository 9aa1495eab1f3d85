// What one MCP request carries through the relay, and the small answers both the single-target
// relay and the fan-out use.

import type { Claims } from '../../protocol/worker-contract.js';
import type { JsonRpcId } from '../../protocol/jsonrpc.js';
import type { HeaderList, ResponseSink } from '../http/reply.js';
import type { ByteAccount } from '../http/byte-budget.js';
import type { BodyResult, RequestSnapshot } from '../http/request.js';
import type { AccessRecord } from '../log/access-record.js';
import type { RoutePlan } from '../plan.js';
import { allRoots, celContext, type Authorization } from '../policy/authorization.js';
import type { LegacySessions } from './legacy-sse.js';
import type { Maybe } from '../maybe-async.js';
import type { StreamGate } from './stream-gate.js';
import type { RateLimiter } from '../policy/rate-limit.js';
import type { RequestTrace } from '../telemetry/tracing.js';
import { answerOf, Refusal } from '../refusals.js';
import type { CallerContext, UpstreamTarget } from '../upstream/target.js';
import { sessionOwner, type SessionCodec, type SessionRecord } from './session-id.js';

export interface McpRequest {
  readonly req: RequestSnapshot;
  /** request headers to forward (the token's header or cookie removed once consumed) */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly reply: ResponseSink;
  readonly body: Maybe<BodyResult> | null;
  /** what this request holds in memory against the gateway-wide budget */
  readonly held: ByteAccount;
  readonly route: RoutePlan;
  readonly targets: readonly UpstreamTarget[];
  readonly claims: Claims | null;
  /** the token jwtAuth verified (for backendAuth), null when none was */
  readonly token: string | null;
  /** when the whole request times out (`timeout.requestTimeout`; performance.now() ms), if ever */
  readonly deadline: number | null;
  /** the route's `localRateLimit`, null when it has none */
  readonly rateLimiter: RateLimiter | null;
  /** the client's `Authorization` field when the gateway did not consume it (no jwtAuth, or a
   * permissive route's unverified token) */
  readonly upstreamAuthorization: string | undefined;
  readonly record: AccessRecord;
  readonly corsHeaders: HeaderList;
  /** the request's trace, null when it is not traced */
  readonly trace: RequestTrace | null;
}

/** The gateway's count of requests in flight, which a graceful close waits to reach 0. */
export interface InflightCount {
  count: number;
  onIdle: (() => void) | null;
}

export interface McpDeps {
  /** the generation's mcpAuthorization questions (calls, lists) */
  readonly authorization: Authorization;
  readonly sessions: SessionCodec;
  readonly onDenied: (kind: string) => void;
  /** a request refused by the route's localRateLimit */
  readonly onRateLimited: (route: string) => void;
  /** reported as serverInfo.version when several targets are merged */
  readonly gatewayVersion: string;
  /** clients on the deprecated HTTP+SSE transport */
  readonly legacy: LegacySessions;
  /** a session's POSTs wait for its GET stream being opened (stream-gate.ts) */
  readonly streamGate: StreamGate;
  /** legacy POSTs answered 202 are relayed afterwards: they count here until done */
  readonly inflight: InflightCount;
}

export const jsonHeaders: HeaderList = [['content-type', 'application/json']];

export function send(m: McpRequest, status: number, headers: HeaderList, body: string): void {
  m.reply.send(status, [...headers, ...m.corsHeaders], body);
}

/** Answers the request with a refusal, its reason in the access log. */
export function refuse(m: McpRequest, r: Refusal, id: JsonRpcId | null): void {
  m.record.error = r.log;
  const a = answerOf(r, id);
  m.reply.send(a.status, [...a.headers, ...m.corsHeaders], a.body);
}

/** Who asks, as the targets see it: what of the request goes upstream, and whom its limits count
 * (the token's issuer and subject, or the client's address when there is no token). */
export function callerContext(m: McpRequest): CallerContext {
  const claims = m.claims;
  const caller =
    claims === null
      ? `address\u0000${m.req.remoteAddress}`
      : `token\u0000${typeof claims['iss'] === 'string' ? claims['iss'] : ''}\u0000${typeof claims['sub'] === 'string' ? claims['sub'] : ''}`;
  let owner: string | undefined;
  return {
    headers: m.headers,
    authorization: m.upstreamAuthorization,
    identity: { token: m.token, claims, headers: m.req.headers, query: m.req.query },
    celContext: () => celContext(m, allRoots, null),
    caller,
    deadline: m.deadline,
    owner: () => (owner ??= sessionOwner(claims, m.route.sessionScope)),
    trace: m.trace,
  };
}

/** The client's answer when a target gave none: the refusal's own, or 502. */
export function answerFailure(m: McpRequest, id: JsonRpcId | null, target: UpstreamTarget, err: Error): void {
  if (!m.reply.open) return;
  refuse(m, err instanceof Refusal ? err : new Refusal('GW_UPSTREAM_UNAVAILABLE', `upstream ${target.name} unavailable`, { log: `upstream call failed: ${err.message}` }), id);
}

export function prefixed(m: McpRequest): boolean {
  const backend = m.route.backend;
  return m.targets.length > 1 || (backend !== null && backend.prefixMode === 'always');
}

export interface OpenedSession {
  readonly session: SessionRecord | null;
  /** the client's session header, as sent */
  readonly header: string | undefined;
}

/** The session's upstream ids with `target`'s set to `sessionId`. */
export function withUpstream(opened: OpenedSession, target: string, sessionId: string): ReadonlyMap<string, string> {
  return new Map(opened.session?.upstream).set(target, sessionId);
}
