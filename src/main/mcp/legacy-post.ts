// A POST of the deprecated HTTP+SSE transport: accepted with 202 once read, then run through the
// same handling as a Streamable HTTP POST, its answer going to the session's event stream.

import { parseMessage } from '../../protocol/jsonrpc.js';
import type { Maybe } from '../maybe-async.js';
import { Refusal } from '../refusals.js';
import { refuse, send, type McpDeps, type McpRequest } from './context.js';
import { LegacyAnswerSink, admitPost, asStreamablePost, holdInflight, maxPostsInFlight, streamableHeaders } from './legacy-sse.js';
import { wholeBody } from './request-body.js';
import { sessionOwner } from './session-id.js';

export async function legacyPost(m: McpRequest, deps: McpDeps, sessionId: string, handlePost: (m: McpRequest, deps: McpDeps) => Maybe<void>): Promise<void> {
  const session = deps.legacy.find(sessionId, sessionOwner(m.claims, m.route.sessionScope));
  if (session === undefined) {
    refuse(m, new Refusal('GW_SESSION_NOT_FOUND', 'Session not found', { form: 'text' }), null);
    return;
  }
  // Taken before the body is read: bodies still arriving are held as much as those relayed.
  const admitted = admitPost(session);
  if (admitted === null) {
    refuse(
      m,
      new Refusal('GW_TOO_MANY_IN_FLIGHT', `Too Many Requests: ${maxPostsInFlight} messages of this session are still being answered`, {
        headers: [['retry-after', '1']],
        log: 'too many legacy messages in flight',
      }),
      null,
    );
    return;
  }
  // Past the 202 the pipeline no longer counts this request: counted here until relayed.
  let release: () => void = admitted;
  try {
    const body = await wholeBody(m);
    if (body === null) return;
    const message = parseMessage(body.toString('utf8'));
    if (message.kind === 'invalid') {
      refuse(m, new Refusal('GW_INVALID_MESSAGE', `fail to deserialize request body: ${message.reason}`, { form: 'text', log: message.reason }), null);
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
        { ...m, req: asStreamablePost(m.req, session), headers: streamableHeaders(m.headers, session), reply: sink, body: { ok: true, body } },
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
