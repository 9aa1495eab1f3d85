// One request to one target, its answer relayed to the client: the session id swapped for the
// gateway's sealed record, lists filtered as policy says, and an upstream session the client
// never learns of (the answer failed, was refused, or the client left) ended at once instead of
// being left to the upstream's own expiry.

import { bufferView } from '../../protocol/buffer-view.js';
import { errorText } from '../../protocol/errors.js';
import { isErrorAnswer, type ParsedMessage } from '../../protocol/jsonrpc.js';
import { listKindOf } from '../../protocol/mcp.js';
import { SseEventTooLargeError } from '../../protocol/sse.js';
import { BufferBudgetError } from '../http/byte-budget.js';
import type { HeaderField, HeaderList } from '../http/reply.js';
import { EngineOverloadedError } from '../policy-engine/runner.js';
import { StreamOverrunError } from '../upstream/channel-transport.js';
import { firstHeader, isEventStreamAnswer, relayResponseHeaders } from '../upstream/headers.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { AnswerTooLargeError, answerRelay, type AnswerMode } from './answer-relay.js';
import { answerMode } from './answer-mode.js';
import { Refusal } from '../refusals.js';
import { answerFailure, callerContext, refuse, withUpstream, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { sessionOwner } from './session-id.js';

export function forward(m: McpRequest, deps: McpDeps, target: UpstreamTarget, body: Buffer | null, opened: OpenedSession, message: ParsedMessage | null): Promise<void> {
  const method = m.req.method === 'DELETE' ? 'DELETE' : m.req.method === 'GET' ? 'GET' : 'POST';
  const id = message !== null && message.kind === 'request' ? message.id : null;
  const expected = message !== null && message.kind === 'request' ? listKindOf(message.method) : null;
  const initialize = message !== null && message.kind === 'request' && message.method === 'initialize';
  const known = opened.session?.upstream.get(target.name);
  const ctx = callerContext(m);
  // The session's POSTs that arrive meanwhile wait until the upstream has answered this GET.
  const opening = method === 'GET' ? deps.streamGate.opening(opened.header) : null;
  /** an upstream session this answer opens */
  let opens: string | undefined;
  let refusedInit = false;
  const relay = answerRelay({
    reply: m.reply,
    held: m.held,
    onHead: (status, upstreamFields) => {
      opening?.();
      const sid = firstHeader(upstreamFields, 'mcp-session-id');
      if (sid !== undefined && sid !== known) opens = sid;
      const headers = responseHeaders(m, deps, target, upstreamFields, sid, opened);
      if (status < 200 || status >= 300) return { headers, mode: { kind: 'relay' } };
      const mode = answerMode(m, deps, target.name, upstreamFields, expected);
      if (!initialize || opens === undefined || mode.kind === 'events' || mode.kind === 'refuse' || isEventStreamAnswer(upstreamFields)) return { headers, mode };
      // A refused initialize opens no session for the client: held whole to be read (it is
      // small), and the session it opened upstream is let go.
      return { headers, mode: refusableInit(mode, headers, () => (refusedInit = true)) };
    },
    onFailure: (err) => answerFailure(m, id, target, err),
    onBroken: (err) => {
      if (err instanceof StreamOverrunError) m.record.error = `GET stream closed: ${err.message}`;
    },
    onFilterFailure: (err) => {
      refuse(m, filterFailure(err), id);
    },
    // Done as the answer is: no async function and await per call on top of the relay's promise.
    onDone: (sentHead) => {
      opening?.();
      if (opens !== undefined && (refusedInit || !sentHead)) void target.endSession(ctx, opens);
    },
  });
  target.send(ctx, { method, sessionId: known, body, message }, relay.handler);
  return relay.done;
}

/** What the client is answered when its answer could not be filtered: never the unfiltered one. */
function filterFailure(err: unknown): Refusal {
  if (err instanceof EngineOverloadedError || err instanceof BufferBudgetError) {
    return new Refusal('GW_BUSY', 'overloaded', { form: 'json-rpc', headers: [['retry-after', '1']], log: err instanceof BufferBudgetError ? 'buffer budget exhausted' : 'overloaded' });
  }
  const log = `filtering the answer failed: ${errorText(err)}`;
  if (err instanceof AnswerTooLargeError || err instanceof SseEventTooLargeError) return new Refusal('GW_UPSTREAM_ANSWER', 'upstream answer too large to filter', { log });
  return new Refusal('GW_INTERNAL', 'upstream answer could not be filtered', { form: 'json-rpc', log });
}

/** `mode` (or a plain collect) that, when the answer is a JSON-RPC error, sends it without the
 * session header and calls `refused`. */
function refusableInit(mode: AnswerMode, headers: HeaderList, refused: () => void): AnswerMode {
  const finish = mode.kind === 'collect' ? mode.finish : () => Promise.resolve({ body: null });
  return {
    kind: 'collect',
    finish: async (bytes) => {
      const out = await finish(bytes);
      const answer = out.body ?? bytes;
      if (!isErrorAnswer(typeof answer === 'string' ? answer : bufferView(answer).toString('utf8'))) return out;
      refused();
      return { body: out.body, headers: headers.filter(([k]) => k !== 'mcp-session-id') };
    },
  };
}

/** The upstream's header fields as relayed, its session id (`upstreamSid`, its first
 * Mcp-Session-Id field) swapped for the sealed record. */
function responseHeaders(m: McpRequest, deps: McpDeps, target: UpstreamTarget, upstreamHeaders: HeaderList, upstreamSid: string | undefined, opened: OpenedSession): HeaderField[] {
  const headers = relayResponseHeaders(upstreamHeaders);
  if (upstreamSid !== undefined) {
    const known = opened.session?.upstream.get(target.name);
    // Re-seal only when the upstream session changed; otherwise echo the client's id.
    const sid =
      known === upstreamSid && opened.header !== undefined
        ? opened.header
        : deps.sessions.encode({
            upstream: withUpstream(opened, target.name, upstreamSid),
            principal: sessionOwner(m.claims, m.route.sessionScope),
          });
    headers.push(['mcp-session-id', sid]);
  }
  if (m.corsHeaders.length === 0) return headers;
  // The upstream's own rate limit state, when it sends one, is what the client sees (agentgateway).
  const upstreamLimits = upstreamHeaders.some(([k]) => k.startsWith('x-ratelimit-'));
  for (const h of m.corsHeaders) if (!(upstreamLimits && h[0].startsWith('x-ratelimit-'))) headers.push(h);
  return headers;
}
