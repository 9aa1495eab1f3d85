// A POST: one JSON-RPC message, read whole, checked (framing, duplicate members, depth, a call
// sent as a notification), charged to the route's rate limit, then routed — a call to the target
// its name is prefixed with, once the rules allow it; a client's answer to the server that asked;
// anything else to every target (fanout.ts) or to the one.

import { JsonRpcError, parseMessage, type ParsedMessage } from '../../protocol/jsonrpc.js';
import { callTargetOf, listKindOf, unknownTargetMessage, type CallTarget } from '../../protocol/mcp.js';
import { headerValue } from '../http/request.js';
import { then, type Maybe } from '../maybe-async.js';
import { Refusal } from '../refusals.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { allowCall, resolveTarget, rewriteCallName } from './calls.js';
import { refuse, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { fanOut } from './fanout.js';
import { forward } from './forward.js';
import { openSession } from './open-session.js';
import { chargeRateLimit } from './rate-limit-charge.js';
import { withWholeBody } from './request-body.js';
import { untagAnswer } from './server-requests.js';

type Message = Exclude<ParsedMessage, { readonly kind: 'invalid' }>;
type Request = Extract<ParsedMessage, { readonly kind: 'request' }>;
type Resolved = { readonly target: UpstreamTarget; readonly name: string };

export function handlePost(request: McpRequest, deps: McpDeps): Maybe<void> {
  const contentType = headerValue(request.req, 'content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('application/json')) {
    refuse(request, new Refusal('GW_UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type: Client must send application/json'), null);
    return;
  }
  return withWholeBody(request, (body) => handleMessage(request, deps, body));
}

/** The body read whole: one JSON-RPC message, checked, charged, then routed. */
function handleMessage(request: McpRequest, deps: McpDeps, body: Buffer): Maybe<void> {
  const message = readMessage(request, body);
  if (message === null) return;
  const id = message.kind === 'request' ? message.id : null;
  if (message.kind !== 'response') request.record.mcpMethod = message.method;
  const opened = openSession(request, deps, id);
  if (opened === null) return;
  if (message.kind === 'notification' && callTargetOf(message.method, message.params) !== null) {
    // A call without an id is no MCP message, but a server that dispatches on the method alone
    // would run it, unauthorised: refused, whatever the rules say.
    refuse(request, new Refusal('GW_INVALID_MESSAGE', `${message.method} must be a request (with an id)`, { log: `${message.method} sent as a notification` }), null);
    return;
  }
  const call = message.kind === 'request' ? callTargetOf(message.method, message.params) : null;
  const resolved = call === null ? null : resolveTarget(request, call);
  // What a rate limit's CEL reads of the call; built only for a route that has a limit.
  const mcp =
    message.kind === 'response' || request.rateLimiter === null
      ? null
      : { method: message.method, ...(call !== null && resolved !== null ? { [call.kind]: { name: resolved.name, target: resolved.target.name } } : {}) };
  const m = chargeRateLimit(request, deps, id, mcp);
  if (m === null) return;
  // A GET of this session still being opened upstream goes first, as the client sent it.
  const gate = deps.streamGate.opened(opened.header);
  if (gate === null) return routeMessage(m, deps, message, body, call, resolved, opened);
  return gate.then(() => routeMessage(m, deps, message, body, call, resolved, opened));
}

function routeMessage(m: McpRequest, deps: McpDeps, message: Message, body: Buffer, call: CallTarget | null, resolved: Resolved | null, opened: OpenedSession): Maybe<void> {
  const id = message.kind === 'request' ? message.id : null;
  if (message.kind === 'request' && call !== null) return routeCall(m, deps, { message, body }, call, resolved, opened);
  if (message.kind === 'request') {
    const kind = listKindOf(message.method);
    if (kind !== null) m.record.mcpResourceType = kind === 'tools' ? 'tool' : kind === 'prompts' ? 'prompt' : kind === 'resources' ? 'resource' : 'templates';
  }
  if (message.kind === 'response' && m.targets.length > 1) return routeAnswer(m, deps, message, body, opened);
  if (m.targets.length > 1) return fanOut(m, deps, message, body, opened);
  const only = m.targets[0];
  if (only === undefined) refuse(m, new Refusal('GW_NO_BACKEND', 'no upstream target', { status: 502, form: 'json-rpc' }), id);
  else return forward(m, deps, only, body, opened, message);
}

/** The body as one JSON-RPC message; null when the client has had its refusal. */
function readMessage(m: McpRequest, body: Buffer): Message | null {
  const message = parseMessage(body.toString('utf8'));
  if (message.kind === 'invalid') {
    const rpcCode = message.reason === 'body is not valid JSON' ? JsonRpcError.parseError : JsonRpcError.invalidRequest;
    refuse(m, new Refusal('GW_INVALID_MESSAGE', message.reason, { rpcCode, log: message.reason }), null);
    return null;
  }
  return message;
}

/** A call of a named tool, prompt or resource: to its target, once the rules allow it. */
function routeCall(
  m: McpRequest,
  deps: McpDeps,
  { message, body }: { readonly message: Request; readonly body: Buffer },
  call: CallTarget,
  resolved: Resolved | null,
  opened: OpenedSession,
): Maybe<void> {
  m.record.mcpResourceType = call.kind;
  // A name no target has, and one the rules deny, get the same answer: a denied tool stays hidden.
  const unknown = (log: string): Refusal => new Refusal('GW_UNKNOWN_TARGET', unknownTargetMessage(call), { log });
  if (resolved === null) {
    m.record.mcpResourceName = call.name;
    refuse(m, unknown(`unknown ${call.kind} ${call.name}`), message.id);
    return;
  }
  m.record.mcpTarget = resolved.target.name;
  m.record.mcpResourceName = resolved.name;
  return then(allowCall(m, deps, message.method, call, resolved.target.name, resolved.name), (allowed) => {
    if (!allowed) {
      deps.onDenied(call.kind);
      refuse(m, unknown(`mcp authorization denied: ${call.kind} ${resolved.name}`), message.id);
      return;
    }
    const sent = resolved.name === call.name ? body : rewriteCallName(body, message, call, resolved.name);
    return forward(m, deps, resolved.target, sent, opened, message);
  });
}

/** A client's answer to a server's own request, on a route with several targets: to that target alone. */
function routeAnswer(m: McpRequest, deps: McpDeps, message: Extract<ParsedMessage, { readonly kind: 'response' }>, body: Buffer, opened: OpenedSession): Maybe<void> {
  const routed = untagAnswer(m.targets, message.id, body.toString('utf8'));
  if (routed === null) {
    refuse(m, new Refusal('GW_INVALID_MESSAGE', 'the answer names no request of a target', { log: 'an answer to no request of a target' }), null);
    return;
  }
  m.record.mcpTarget = routed.target.name;
  return forward(m, deps, routed.target, routed.body, opened, message);
}
