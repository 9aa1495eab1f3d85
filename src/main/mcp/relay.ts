// The MCP backend: Streamable HTTP in front, Streamable HTTP towards the upstream. Requests are
// relayed as they are (bytes, not re-serialised JSON) except where policy needs to act:
// calls to a denied tool/prompt/resource never reach the upstream, list results are filtered
// per item, and the session id is swapped for the gateway's sealed record.

import type { McpCelContext } from '../../protocol/worker-contract.js';
import { JsonRpcError, errorMessage, parseMessage, type JsonRpcId, type ParsedMessage } from '../../protocol/jsonrpc.js';
import { DeciderOverloadedError } from '../decider/decider.js';
import { callTargetOf, listKindOf, unknownTargetMessage, type CallTarget } from '../../protocol/mcp.js';
import { SseEventTooLargeError, replaceEventData } from '../../protocol/sse.js';
import { BufferBudgetError } from '../http/byte-budget.js';
import type { HeaderField, HeaderList } from '../http/reply.js';
import { decodeComponent, headerValue } from '../http/request.js';
import { originAllowed } from './origin.js';
import { celContext, jsonHeaders, prefixed, send, sendRpcError, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { channelDelete, channelPost, channelStream } from './channel-relay.js';
import { deleteSession, fanOut, mergeStreams, tagServerRequest, untagAnswer } from './fanout.js';
import { LegacyAnswerSink, admitPost, asStreamablePost, holdInflight, maxPostsInFlight, streamableHeaders } from './legacy-sse.js';
import { filterList, listKindIn, prefixResourceUri } from './list-filter.js';
import { sessionOwner, type SessionRecord } from './session-id.js';
import { AnswerTooLargeError, callUpstream } from './upstream-call.js';
import { firstHeader, relayResponseHeaders, upstreamRequestHeaders, type HttpTarget, type UpstreamTarget } from './upstream.js';

/** Splits `<target>_<name>` (or `<target>+<uri>` for resources) when names are prefixed. */
function resolveTarget(m: McpRequest, call: CallTarget): { target: UpstreamTarget; name: string } | null {
  if (!prefixed(m)) {
    const only = m.targets[0];
    return only === undefined ? null : { target: only, name: call.name };
  }
  const sep = call.kind === 'resource' ? '+' : '_';
  const at = call.name.indexOf(sep);
  if (at <= 0) return null;
  const target = m.targets.find((t) => t.name === call.name.slice(0, at));
  return target === undefined ? null : { target, name: call.name.slice(at + 1) };
}

export async function handleMcp(m: McpRequest, deps: McpDeps): Promise<void> {
  m.record.protocol = 'mcp';
  const origin = headerValue(m.req, 'origin');
  if (origin !== undefined && !originAllowed(origin, m.route)) {
    // DNS rebinding: a page of another site reaching the gateway by a name that now points here.
    m.record.error = `origin not allowed: ${origin}`;
    sendRpcError(m, 403, null, -32000, 'Forbidden: Origin not allowed');
    return undefined;
  }
  if (m.req.path === '/sse' || m.req.path.endsWith('/sse')) {
    if (m.req.method === 'GET') {
      m.record.mcpMethod = 'sse';
      deps.legacy.open(m);
      return undefined;
    }
    const sessionId = /(?:^|&)sessionId=([^&]*)/.exec(m.req.query)?.[1];
    if (m.req.method === 'POST' && sessionId !== undefined) {
      const decoded = decodeComponent(sessionId); // null for `%zz`: no id any server handed out
      if (decoded === null) {
        m.record.error = 'malformed session id';
        send(m, 400, [['content-type', 'text/plain']], 'failed to process session_id');
        return undefined;
      }
      return legacyPost(m, deps, decoded);
    }
  }
  switch (m.req.method) {
    case 'POST':
      return handlePost(m, deps);
    case 'GET':
    case 'DELETE':
      return handleSessionRequest(m, deps);
    default:
      send(m, 405, [['allow', 'GET, POST, DELETE'], ['content-type', 'text/plain']], 'Method Not Allowed');
      return undefined;
  }
}

/** A legacy HTTP+SSE POST: accepted with 202, answered on the session's event stream. */
async function legacyPost(m: McpRequest, deps: McpDeps, sessionId: string): Promise<void> {
  const session = deps.legacy.find(sessionId, sessionOwner(m.claims, m.route.sessionScope));
  if (session === undefined) {
    m.record.error = 'session not found';
    send(m, 404, [['content-type', 'text/plain']], 'Session not found');
    return;
  }
  // Taken before the body is read: bodies still arriving are held as much as those relayed.
  const admitted = admitPost(session);
  if (admitted === null) {
    m.record.error = 'too many legacy messages in flight';
    send(m, 429, [['content-type', 'text/plain'], ['retry-after', '1']], `Too Many Requests: ${maxPostsInFlight} messages of this session are still being answered`);
    return;
  }
  // Past the 202 the pipeline no longer counts this request: counted here until relayed.
  let release: () => void = admitted;
  try {
    const body = await wholeBody(m);
    if (body === null) return;
    const message = parseMessage(body.toString('utf8'));
    if (message.kind === 'invalid') {
      m.record.error = message.reason;
      send(m, 400, [['content-type', 'text/plain']], `fail to deserialize request body: ${message.reason}`);
      return;
    }
    if (message.kind !== 'response') m.record.mcpMethod = message.method;
    const counted = holdInflight(deps.inflight);
    release = () => {
      counted();
      admitted();
    };
    send(m, 202, [['content-type', 'text/plain']], 'Accepted');
    const sink = new LegacyAnswerSink(session, message.kind === 'request' ? message.id : null);
    try {
      await handlePost(
        { ...m, req: asStreamablePost(m.req, session), headers: streamableHeaders(m.headers, session), reply: sink, body: Promise.resolve({ ok: true, body }) },
        deps,
      );
    } catch (err) {
      // The client has its 202: the answer it waits for on the stream is an error, and the sink
      // lets go of the session's stream.
      sink.destroy();
      throw err;
    }
  } finally {
    release();
  }
}

/** The request's body read whole; null when there is none, or it was not read whole and the
 * client has had its answer (an aborted one needs none: its client is gone). */
async function wholeBody(m: McpRequest): Promise<Buffer | null> {
  const result = m.body === null ? null : await m.body;
  if (result === null) return null;
  if (result.ok) return result.body;
  refuseBody(m, result.reason);
  return null;
}

function refuseBody(m: McpRequest, reason: 'too_large' | 'busy' | 'aborted'): void {
  if (reason === 'too_large') {
    m.record.error = 'request body too large';
    send(m, 413, [['content-type', 'text/plain']], 'Payload Too Large');
  } else if (reason === 'busy') {
    m.record.error = 'buffer budget exhausted';
    send(m, 503, [['content-type', 'text/plain'], ['retry-after', '1']], 'Service Unavailable: the gateway holds too much for other requests; retry');
  }
}

/** Decodes the client's session header; sends 404 and returns false when it is not ours or not theirs. */
function openSession(m: McpRequest, deps: McpDeps, id: JsonRpcId | null): { ok: true; session: SessionRecord | null; header: string | undefined } | { ok: false } {
  const header = headerValue(m.req, 'mcp-session-id');
  if (header === undefined) return { ok: true, session: null, header };
  const session = deps.sessions.decode(header);
  if (session === null || session.principal !== sessionOwner(m.claims, m.route.sessionScope)) {
    // The spec's answer to an unknown session: 404, and the client re-initializes.
    m.record.error = 'session not found';
    sendRpcError(m, 404, id, -32001, 'Session not found');
    return { ok: false };
  }
  return { ok: true, session, header };
}

async function handlePost(m: McpRequest, deps: McpDeps): Promise<void> {
  const contentType = headerValue(m.req, 'content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('application/json')) {
    send(m, 415, [['content-type', 'text/plain']], 'Unsupported Media Type: Client must send application/json');
    return;
  }
  const body = await wholeBody(m);
  if (body === null) return;
  const message = parseMessage(body.toString('utf8'));
  if (message.kind === 'invalid') {
    m.record.error = message.reason;
    sendRpcError(m, 400, null, message.reason === 'body is not valid JSON' ? JsonRpcError.parseError : JsonRpcError.invalidRequest, message.reason);
    return;
  }
  const id = message.kind === 'request' ? message.id : null;
  if (message.kind !== 'response') m.record.mcpMethod = message.method;
  const opened = openSession(m, deps, id);
  if (!opened.ok) return;

  if (message.kind === 'notification' && callTargetOf(message.method, message.params) !== null) {
    // A call without an id is no MCP message, but a server that dispatches on the method alone
    // would run it, unauthorised: refused, whatever the rules say.
    m.record.error = `${message.method} sent as a notification`;
    sendRpcError(m, 400, null, JsonRpcError.invalidRequest, `${message.method} must be a request (with an id)`);
    return;
  }
  // A GET of this session still being opened upstream goes first, as the client sent it.
  const gate = deps.streamGate.opened(opened.header);
  if (gate !== null) await gate;
  let target = m.targets[0];
  if (message.kind === 'request') {
    const call = callTargetOf(message.method, message.params);
    if (call !== null) {
      m.record.mcpResourceType = call.kind;
      const resolved = resolveTarget(m, call);
      if (resolved === null) {
        m.record.mcpResourceName = call.name;
        sendRpcError(m, 200, id, JsonRpcError.invalidParams, unknownTargetMessage(call));
        return;
      }
      m.record.mcpTarget = resolved.target.name;
      m.record.mcpResourceName = resolved.name;
      if (!(await allowCall(m, deps, message.method, call, resolved.target.name, resolved.name))) {
        // Indistinguishable from a name that does not exist: a denied tool stays hidden.
        m.record.error = `mcp authorization denied: ${call.kind} ${resolved.name}`;
        deps.onDenied(call.kind);
        sendRpcError(m, 200, id, JsonRpcError.invalidParams, unknownTargetMessage(call));
        return;
      }
      target = resolved.target;
      if (resolved.name !== call.name) {
        await forwardTo(m, deps, target, rewriteCallName(message, call, resolved.name), opened, message);
        return;
      }
    } else {
      const kind = listKindOf(message.method);
      if (kind !== null) m.record.mcpResourceType = kind === 'tools' ? 'tool' : kind === 'prompts' ? 'prompt' : kind === 'resources' ? 'resource' : 'templates';
    }
  }
  if (message.kind === 'response' && m.targets.length > 1) {
    // An answer to one server's own request goes to that server alone.
    const routed = untagAnswer(m.targets, message.id, body.toString('utf8'));
    if (routed === null) {
      m.record.error = 'an answer to no request of a target';
      sendRpcError(m, 400, null, JsonRpcError.invalidRequest, 'the answer names no request of a target');
      return;
    }
    m.record.mcpTarget = routed.target.name;
    await forwardTo(m, deps, routed.target, routed.body, opened, message);
    return;
  }
  if (m.targets.length > 1) {
    await fanOut(m, deps, message, body, opened);
    return;
  }
  if (target === undefined) {
    sendRpcError(m, 502, id, JsonRpcError.internalError, 'no upstream target');
    return;
  }
  await forwardTo(m, deps, target, body, opened, message);
}

function forwardTo(m: McpRequest, deps: McpDeps, target: UpstreamTarget, body: Buffer, opened: OpenedSession, message: ParsedMessage): Promise<void> {
  if (target.kind === 'channel') return channelPost(m, deps, target, body, message, opened);
  return forward(m, deps, target, body, opened, message);
}

function rewriteCallName(message: ParsedMessage, call: CallTarget, name: string): Buffer {
  if (message.kind !== 'request') throw new TypeError('only requests carry call targets');
  const key = call.kind === 'resource' ? 'uri' : 'name';
  const ref = message.params?.['ref'];
  const params =
    message.method === 'completion/complete' && typeof ref === 'object' && ref !== null
      ? { ...message.params, ref: { ...ref, [key]: name } }
      : { ...message.params, [key]: name };
  return Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: message.id, method: message.method, params }));
}

async function allowCall(m: McpRequest, deps: McpDeps, method: string, call: CallTarget, target: string, name: string): Promise<boolean> {
  const ref = m.route.mcpAuthorization;
  if (ref === null) return true;
  const mcp: McpCelContext = { method, [call.kind]: { name, target } };
  const decision = await deps.decider().decide({ op: 'decide', ruleSet: ref.id, ctx: celContext(m, ref, mcp) });
  if (decision.ruleErrors > 0) deps.onRuleErrors(decision.ruleErrors);
  return decision.allow;
}

async function handleSessionRequest(m: McpRequest, deps: McpDeps): Promise<void> {
  m.record.mcpMethod = m.req.method === 'GET' ? 'stream' : 'session/delete';
  const opened = openSession(m, deps, null);
  if (!opened.ok) return;
  const target = m.targets[0];
  if (target === undefined) {
    send(m, 502, [['content-type', 'text/plain']], 'no upstream target');
    return;
  }
  if (m.targets.length > 1) {
    if (m.req.method === 'GET') {
      await mergeStreams(m, deps, opened);
      return;
    }
    await Promise.all(m.targets.slice(1).map((t) => (t.kind === 'channel' ? channelDelete(deps, t, opened) : deleteSession(m, t, opened.session?.upstream[t.name]))));
  }
  if (target.kind === 'channel') {
    if (m.req.method === 'GET') channelStream(m, deps, target, opened);
    else {
      channelDelete(deps, target, opened);
      m.reply.send(202, m.corsHeaders, '');
    }
    return;
  }
  await forward(m, deps, target, null, opened, null);
}

async function forward(
  m: McpRequest,
  deps: McpDeps,
  target: HttpTarget,
  body: Buffer | null,
  opened: OpenedSession,
  message: ParsedMessage | null,
): Promise<void> {
  const streaming = m.req.method === 'GET';
  const id = message !== null && message.kind === 'request' ? message.id : null;
  const expected = message !== null && message.kind === 'request' ? listKindOf(message.method) : null;
  const ref = m.route.mcpAuthorization;
  const rename = prefixed(m);
  const multiplexed = m.targets.length > 1;
  // The session's POSTs that arrive meanwhile wait until the upstream has answered this GET.
  const opening = streaming ? deps.streamGate.opening(opened.header) : null;
  await callUpstream({
    target,
    pool: streaming ? target.pools.streams : target.pools.calls,
    method: m.req.method === 'DELETE' ? 'DELETE' : streaming ? 'GET' : 'POST',
    headers: upstreamRequestHeaders(m.headers, { sessionId: opened.session?.upstream[target.name], authorization: m.upstreamAuthorization }),
    body,
    reply: m.reply,
    held: m.held,
    onHead: (status, upstreamHeaders) => {
      opening?.();
      const headers = responseHeaders(m, deps, target, upstreamHeaders, opened);
      const ok = status >= 200 && status < 300;
      // Every answer is looked at when policy applies, not only those to list requests: an
      // upstream that routes by JSON-RPC id can put a list on another request's answer (two
      // requests of one session with the same id), and it must not pass unjudged there either.
      if (!(ok && (ref !== null || rename))) return { headers, mode: { kind: 'relay' } };
      // Every Content-Encoding field counts: a client applies the codings of all of them in
      // order, so `identity` first and `gzip` in a second field is a gzip body.
      const encoding = contentEncoding(upstreamHeaders);
      if (encoding !== undefined && encoding !== 'identity') {
        // We asked for identity; a compressed list cannot be filtered, so it is not relayed at all.
        return { headers, mode: { kind: 'refuse', reason: `upstream sent a ${encoding}-encoded answer that must be filtered` } };
      }
      const framing = answerFraming(upstreamHeaders);
      if (framing === 'ambiguous') {
        // A client may read it either way (the MCP SDK looks for the SSE type anywhere in the
        // field): it cannot be filtered for both readings, so it is not relayed at all.
        return { headers, mode: { kind: 'refuse', reason: 'upstream sent an answer that must be filtered under an ambiguous content type' } };
      }
      if (framing === 'events') {
        return {
          headers,
          mode: {
            kind: 'events',
            rewrite: async (event) => {
              if (event.data === null) return null;
              const kind = listKindIn(event.data, expected);
              const filtered = kind === null ? null : await filterList(m, deps, target.name, kind, event.data);
              // The server's own requests and resource notices on a call's stream, as on the merged GET stream.
              const renamed = rename ? prefixResourceUri(target.name, filtered ?? event.data) : filtered;
              const data = multiplexed ? tagServerRequest(target.name, renamed ?? event.data) : renamed;
              return data === null || data === event.data ? null : replaceEventData(event, data);
            },
          },
        };
      }
      // JSON, or any other type a lenient client might still read as JSON (text/plain, none).
      return {
        headers,
        mode: {
          kind: 'collect',
          finish: async (text) => {
            const kind = listKindIn(text, expected);
            return kind === null ? null : filterList(m, deps, target.name, kind, text);
          },
        },
      };
    },
    onFailure: (reason) => {
      if (!m.reply.open) return;
      m.record.error = `upstream call failed: ${reason}`;
      sendRpcError(m, 502, id, JsonRpcError.internalError, `upstream ${target.name} unavailable`);
    },
    onFilterFailure: (err) => {
      if (err instanceof DeciderOverloadedError || err instanceof BufferBudgetError) {
        m.record.error = err instanceof BufferBudgetError ? 'buffer budget exhausted' : 'overloaded';
        send(m, 503, [...jsonHeaders, ['retry-after', '1']], errorMessage(id, JsonRpcError.internalError, 'overloaded'));
        return;
      }
      m.record.error = `filtering the answer failed: ${err instanceof Error ? err.message : String(err)}`;
      const tooLarge = err instanceof AnswerTooLargeError || err instanceof SseEventTooLargeError;
      sendRpcError(m, tooLarge ? 502 : 500, id, JsonRpcError.internalError, tooLarge ? 'upstream answer too large to filter' : 'upstream answer could not be filtered');
    },
  }).finally(() => opening?.());
}

/** The codings of all Content-Encoding fields, comma-joined as one value; `identity` only when
 * every field says just that. */
/** How an answer that must be filtered is read: an event stream when its one Content-Type is
 * text/event-stream, as JSON when no type mentions the event-stream type (JSON, or any other type
 * a lenient client may still read as JSON), ambiguous otherwise (several types, or the
 * event-stream type beside another one). */
function answerFraming(fields: HeaderList): 'events' | 'json' | 'ambiguous' {
  let types = 0;
  let single = '';
  let mentionsEvents = false;
  for (const [k, v] of fields) {
    if (k !== 'content-type') continue;
    types++;
    single = v.trim().toLowerCase();
    if (single.includes('text/event-stream')) mentionsEvents = true;
  }
  if (!mentionsEvents) return 'json';
  return types === 1 && single.startsWith('text/event-stream') && !single.includes(',') ? 'events' : 'ambiguous';
}

function contentEncoding(fields: HeaderList): string | undefined {
  let all: string | undefined;
  let identity = true;
  for (const [k, v] of fields) {
    if (k !== 'content-encoding') continue;
    all = all === undefined ? v : `${all}, ${v}`;
    if (v !== 'identity') identity = false;
  }
  return all === undefined || !identity ? all : 'identity';
}

function responseHeaders(m: McpRequest, deps: McpDeps, target: UpstreamTarget, upstreamHeaders: HeaderList, opened: OpenedSession): HeaderField[] {
  const headers = relayResponseHeaders(upstreamHeaders);
  const upstreamSid = firstHeader(upstreamHeaders, 'mcp-session-id');
  if (upstreamSid !== undefined) {
    const known = opened.session?.upstream[target.name];
    // Re-seal only when the upstream session changed; otherwise echo the client's id.
    const sid =
      known === upstreamSid && opened.header !== undefined
        ? opened.header
        : deps.sessions.encode({
            upstream: { ...(opened.session?.upstream ?? {}), [target.name]: upstreamSid },
            principal: sessionOwner(m.claims, m.route.sessionScope),
          });
    headers.push(['mcp-session-id', sid]);
  }
  for (const h of m.corsHeaders) headers.push(h);
  return headers;
}

