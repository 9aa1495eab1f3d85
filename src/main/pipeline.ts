// One HTTP request through the route's policies, in the contract's order: CORS (a preflight is
// answered before authentication; every answer carries CORS headers), jwtAuth, HTTP
// authorization, then the MCP backend.

import type { FrontRequest, FrontResponse } from './http/front.js';
import type { Claims } from '../protocol/worker-contract.js';
import type { ByteAccount, ByteBudget } from './http/byte-budget.js';
import { Reply, type HeaderList } from './http/reply.js';
import { ambiguousFraming, headerValue, readBody, snapshotRequest, type RequestSnapshot } from './http/request.js';
import { AccessRecord } from './log/access-record.js';
import { Refusal, toHttp } from './refusals.js';
import { errorText } from '../protocol/errors.js';
import type { Logger } from './log/logger.js';
import { redactQuery } from './log/redact.js';
import type { McpDeps } from './mcp/context.js';
import type { LegacySessions } from './mcp/legacy-sse.js';
import type { StreamGate } from './mcp/stream-gate.js';
import { handleMcp } from './mcp/relay.js';
import type { SessionCodec } from './mcp/session-id.js';
import type { Metrics } from './ops/metrics.js';
import type { BindPlan, RoutePlan } from './plan.js';
import type { Generation } from './generation.js';
import type { RequestTrace } from './telemetry/tracing.js';
import { extractToken, type HeaderPairs } from './policy/bearer.js';
import { bearerChallenge, isMetadataPath, metadataResponse, preflightHeaders } from './policy/protected-resource.js';
import { EngineOverloadedError } from './policy-engine/runner.js';
import { selectListener, selectRoute } from './router.js';
import { then, type Maybe } from './maybe-async.js';

export interface PipelineDeps {
  readonly current: () => Generation;
  readonly sessions: SessionCodec;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly version: string;
  readonly legacy: LegacySessions;
  readonly streamGate: StreamGate;
  /** false once draining: new requests get 503 */
  readonly accepting: () => boolean;
  readonly inflight: { count: number; onIdle: (() => void) | null };
  /** bytes held for requests in flight, over all of them (config.bufferBudgetBytes) */
  readonly buffers: ByteBudget;
}

const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/** The uWS handler for every request on a bind. */
export function createRequestHandler(bindName: string, deps: PipelineDeps): (res: FrontResponse, req: FrontRequest) => void {
  return (res, req) => {
    const snap = snapshotRequest(req, res);
    const reply = new Reply(res, snap.method === 'HEAD');
    const record = new AccessRecord(snap);
    const gen = deps.current();
    record.srcAddr = snap.remoteAddress;
    record.method = snap.method;
    record.host = snap.host;
    record.path = loggedPath(snap, gen.binds.get(bindName));
    record.gateway = bindName;
    const trace = gen.tracer === null ? null : gen.tracer.start(snap, record);
    deps.inflight.count++;
    reply.onClose((aborted) => {
      record.endedAt = performance.now();
      record.status = reply.status;
      if (aborted && reply.status === 0) record.error ??= 'client closed the connection';
      trace?.end(record);
      deps.logger.access(record);
      deps.metrics.requestDone(record);
      deps.inflight.count--;
      if (deps.inflight.count === 0) deps.inflight.onIdle?.();
    });
    const failed = (err: unknown, corsHeaders: HeaderList): void => {
      const refusal =
        err instanceof EngineOverloadedError
          ? new Refusal('GW_BUSY', 'overloaded', { headers: [['retry-after', '1']] })
          : new Refusal('GW_INTERNAL', 'internal error', { log: `internal error: ${errorText(err)}` });
      if (refusal.code === 'GW_INTERNAL') deps.logger.error('gateway', 'request failed', [['error', refusal.log]]);
      record.error = refusal.log;
      if (!reply.open) return;
      // The answer to a failure must not fail in turn: thrown here, it would leave the uWS
      // handler (or reject with no handler) and take the process down.
      try {
        if (reply.headSent) reply.destroy();
        else refuse(reply, record, corsHeaders, refusal);
      } catch (again) {
        deps.logger.error('gateway', 'could not answer a failed request', [['error', errorText(again)]]);
      }
    };
    // Nothing may throw out of a uWS handler: it would take the process down.
    try {
      const framing = ambiguousFraming(snap.headers);
      if (framing !== null) {
        // Dropped unanswered, as uWS drops the framing errors it finds itself: with end(), uWS
        // v20.30 still served a request pipelined behind; closing now stops that.
        record.error = `bad request: ${framing}`;
        reply.destroy();
        return;
      }
      routeRequest(snap, reply, record, trace, res, bindName, deps, failed);
    } catch (err) {
      failed(err, []);
    }
  };
}

/** `http.path` for the access log: path and query, credentials in the query redacted (the
 * names the bind reads tokens from, and any that look like one). */
function loggedPath(snap: RequestSnapshot, bind: BindPlan | undefined): string {
  if (snap.query === '') return snap.path;
  return `${snap.path}?${redactQuery(snap.query, bind?.tokenQueryNames)}`;
}

/** Answers the request with a refusal (text: nothing is parsed yet), its reason in the access log. */
function refuse(reply: Reply, record: AccessRecord, corsHeaders: HeaderList, r: Refusal): void {
  record.error = r.log;
  const a = toHttp(r);
  reply.send(a.status, [...a.headers, ...corsHeaders], a.body);
}

/** Listener and route selection, the answers that need no policy, then the policies. */
function routeRequest(
  snap: RequestSnapshot,
  reply: Reply,
  record: AccessRecord,
  trace: RequestTrace | null,
  res: FrontResponse,
  bindName: string,
  deps: PipelineDeps,
  failed: (err: unknown, corsHeaders: HeaderList) => void,
): void {
  const gen = deps.current();
  const bind = gen.binds.get(bindName);
  const listener = bind === undefined ? null : selectListener(bind.listeners, snap.host);
  if (listener === null) {
    refuse(reply, record, [], new Refusal('GW_LISTENER_NOT_FOUND', 'listener not found'));
    return;
  }
  record.gateway = listener.gatewayName;
  record.listener = listener.name;
  const route = selectRoute(listener, snap);
  if (route === null) {
    refuse(reply, record, [], new Refusal('GW_ROUTE_NOT_FOUND', 'route not found'));
    return;
  }
  record.routeRule = route.ruleKey;
  record.route = route.name;

  if (route.mcpAuthentication !== null && isMetadataPath(snap.path)) {
    // Public by definition: clients read it to find out how to get a token.
    if (snap.method === 'GET') {
      const doc = metadataResponse(route.mcpAuthentication, snap);
      reply.send(200, doc.headers, doc.body);
    } else if (snap.method === 'OPTIONS') reply.send(200, preflightHeaders(), '');
    else refuse(reply, record, [], new Refusal('GW_METHOD_NOT_ALLOWED', 'Method Not Allowed', { headers: [['allow', 'GET, OPTIONS']] }));
    return;
  }
  if (route.cors !== null && snap.method === 'OPTIONS') {
    const preflight = route.cors.preflight(snap);
    if (preflight !== null) {
      reply.send(200, preflight, '');
      return;
    }
  }
  const corsHeaders = route.cors === null ? [] : route.cors.responseHeaders(snap);
  if (!deps.accepting()) {
    refuse(reply, record, corsHeaders, new Refusal('GW_SHUTTING_DOWN', 'gateway is shutting down', { headers: [['connection', 'close']] }));
    return;
  }
  // What the request holds (its body, answers held whole) counts until it is done.
  const held = deps.buffers.account();
  // The body must be collected from the synchronous part of the handler (uWS rule).
  const body = bodyMethods.has(snap.method)
    ? readBody(res, gen.maxBodyBytes, held, (cb) => reply.onClose((aborted) => aborted && cb()))
    : null;
  // Runs through at once when nothing waits (a cached token, inline decisions), else on.
  try {
    const running = runPolicies({ gen, route, snap, reply, record, trace, corsHeaders, body, held, deps });
    if (running instanceof Promise) {
      // One reaction, not catch() and finally(): finally adds promises of its own per request.
      running.then(held.close, (err: unknown) => {
        try {
          failed(err, corsHeaders);
        } finally {
          held.close();
        }
      });
      return;
    }
  } catch (err) {
    failed(err, corsHeaders);
  }
  held.close();
}

/** What the MCP backend needs: built once per (pipeline, generation), not per request. */
const mcpDepsCache = new WeakMap<PipelineDeps, { readonly gen: Generation; readonly mcp: McpDeps }>();
function mcpDepsOf(gen: Generation, deps: PipelineDeps): McpDeps {
  const cached = mcpDepsCache.get(deps);
  if (cached !== undefined && cached.gen === gen) return cached.mcp;
  const mcp: McpDeps = {
    authorization: gen.authorization,
    sessions: deps.sessions,
    gatewayVersion: deps.version,
    legacy: deps.legacy,
    streamGate: deps.streamGate,
    inflight: deps.inflight,
    onDenied: (kind) => deps.metrics.mcpDenied.inc({ type: kind }),
    onRateLimited: (route) => deps.metrics.rateLimited.inc({ route }),
  };
  mcpDepsCache.set(deps, { gen, mcp });
  return mcp;
}

/** A request past routing, on its way through the route's policies. */
interface Routed {
  readonly gen: Generation;
  readonly route: RoutePlan;
  readonly snap: RequestSnapshot;
  readonly reply: Reply;
  readonly record: AccessRecord;
  readonly trace: RequestTrace | null;
  readonly corsHeaders: HeaderList;
  readonly body: ReturnType<typeof readBody> | null;
  readonly held: ByteAccount;
  readonly deps: PipelineDeps;
}

/** What jwtAuth leaves of the request for the rest of the pipeline. */
interface Authenticated {
  readonly claims: Claims | null;
  readonly token: string | null;
  readonly upstreamAuthorization: string | undefined;
  readonly forwardHeaders: HeaderPairs;
}

/** jwtAuth, HTTP authorization, then the MCP backend; a value when nothing had to wait. */
function runPolicies(r: Routed): Maybe<void> {
  const { route, snap } = r;
  const authenticator = r.gen.authenticators.get(route);
  if (route.jwt === null || authenticator === undefined) {
    return authorize(r, { claims: null, token: null, upstreamAuthorization: headerValue(snap, 'authorization'), forwardHeaders: snap.headers });
  }
  const extracted = extractToken(snap, route.jwt.location);
  return then(authenticator.authenticate(extracted.token), (outcome) => {
    if (outcome.kind === 'reject') {
      // RFC 6750 §3.1: no error code when the request had no credentials at all.
      const challenge = bearerChallenge(route.mcpAuthentication, snap, outcome.reason === 'missing' ? null : 'invalid_token');
      refuse(r.reply, r.record, r.corsHeaders, new Refusal('GW_UNAUTHENTICATED', `authentication failure: ${outcome.message}`, { headers: [['www-authenticate', challenge]] }));
      return;
    }
    r.record.setClaims(outcome.claims);
    // A verified token is consumed here: it reaches an upstream only as a target's backendAuth
    // (passthrough) puts it back.
    const strip = outcome.stripAuthorization;
    return authorize(r, {
      claims: outcome.claims,
      token: outcome.token,
      upstreamAuthorization: strip ? undefined : headerValue(snap, 'authorization'),
      forwardHeaders: strip && outcome.token !== null ? extracted.withoutToken() : snap.headers,
    });
  });
}

/** HTTP authorization, when the route has one. */
function authorize(r: Routed, who: Authenticated): Maybe<void> {
  const rules = r.route.authorization;
  if (rules === null) return relay(r, who);
  return then(r.gen.authorization.allowRequest(rules, { req: r.snap, claims: who.claims }), (allowed) => {
    if (allowed) return relay(r, who);
    const challenge = bearerChallenge(r.route.mcpAuthentication, r.snap, 'insufficient_scope');
    refuse(r.reply, r.record, r.corsHeaders, new Refusal('GW_FORBIDDEN', 'authorization failed', { headers: [['www-authenticate', challenge]] }));
  });
}

/** The MCP backend, once the request may go on. */
function relay(r: Routed, who: Authenticated): Maybe<void> {
  const { gen, route, snap, record, deps } = r;
  const targets = gen.targets.get(route);
  if (route.backend === null || targets === undefined || targets.length === 0) {
    refuse(r.reply, record, r.corsHeaders, new Refusal('GW_NO_BACKEND', 'no valid backends'));
    return;
  }
  const handled = handleMcp(
    {
      req: snap,
      headers: who.forwardHeaders,
      reply: r.reply,
      body: r.body,
      held: r.held,
      route,
      targets,
      claims: who.claims,
      token: who.token,
      upstreamAuthorization: who.upstreamAuthorization,
      deadline: route.requestTimeoutMs === null ? null : snap.startedAt + route.requestTimeoutMs,
      rateLimiter: gen.limiters.get(route.sessionScope) ?? null,
      record,
      corsHeaders: r.corsHeaders,
      trace: r.trace,
    },
    mcpDepsOf(gen, deps),
  );
  return then(handled, () => {
    if (record.mcpMethod !== undefined) deps.metrics.mcpRequestDone(record.mcpMethod);
  });
}
