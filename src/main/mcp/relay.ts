// The MCP backend: Streamable HTTP in front, Streamable HTTP towards the upstream. Requests are
// relayed as they are (bytes, not re-serialised JSON) except where policy needs to act:
// calls to a denied tool/prompt/resource never reach the upstream, list results are filtered
// per item, and the session id is swapped for the gateway's sealed record.

import { JsonRpcError, parseMessage, type JsonRpcId } from '../../protocol/jsonrpc.js';
import { callTargetOf, listKindOf, unknownTargetMessage } from '../../protocol/mcp.js';
import { decodeComponent, headerValue } from '../http/request.js';
import { allowCall, resolveTarget, rewriteCallName } from './calls.js';
import { chargeRateLimit } from './rate-limit-charge.js';
import { send, sendRpcError, type McpDeps, type McpRequest } from './context.js';
import { endOtherSessions, fanOut } from './fanout.js';
import { forward } from './forward.js';
import { LegacyAnswerSink, admitPost, asStreamablePost, holdInflight, maxPostsInFlight, streamableHeaders } from './legacy-sse.js';
import { mergeStreams } from './merged-stream.js';
import { originAllowed } from './origin.js';
import { wholeBody } from './request-body.js';
import { untagAnswer } from './server-requests.js';
import { sessionOwner, type SessionRecord } from './session-id.js';

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

async function handlePost(request: McpRequest, deps: McpDeps): Promise<void> {
  let m = request;
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
  const call = message.kind === 'request' ? callTargetOf(message.method, message.params) : null;
  const resolved = call === null ? null : resolveTarget(m, call);
  const charged = chargeRateLimit(m, deps, id, message.kind === 'response' ? null : { method: message.method, ...(call !== null && resolved !== null ? { [call.kind]: { name: resolved.name, target: resolved.target.name } } : {}) });
  if (charged === null) return;
  m = charged;
  // A GET of this session still being opened upstream goes first, as the client sent it.
  const gate = deps.streamGate.opened(opened.header);
  if (gate !== null) await gate;
  let target = m.targets[0];
  if (message.kind === 'request') {
    if (call !== null) {
      m.record.mcpResourceType = call.kind;
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
        await forward(m, deps, target, rewriteCallName(message, call, resolved.name), opened, message);
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
    await forward(m, deps, routed.target, routed.body, opened, message);
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
  await forward(m, deps, target, body, opened, message);
}

async function handleSessionRequest(request: McpRequest, deps: McpDeps): Promise<void> {
  request.record.mcpMethod = request.req.method === 'GET' ? 'stream' : 'session/delete';
  const opened = openSession(request, deps, null);
  if (!opened.ok) return;
  const m = chargeRateLimit(request, deps, null, null);
  if (m === null) return;
  const target = m.targets[0];
  if (target === undefined) {
    send(m, 502, [['content-type', 'text/plain']], 'no upstream target');
    return;
  }
  if (m.targets.length > 1) {
    if (m.req.method === 'GET') return mergeStreams(m, deps, opened);
    await endOtherSessions(m, opened);
  }
  await forward(m, deps, target, null, opened, null);
}
