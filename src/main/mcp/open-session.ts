// The client's session, as its Mcp-Session-Id names it: the gateway's sealed record of the
// upstream sessions, valid only for the caller and the route that opened it.

import type { JsonRpcId } from '../../protocol/jsonrpc.js';
import { headerValue } from '../http/request.js';
import { Refusal } from '../refusals.js';
import { refuse, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { sessionOwner } from './session-id.js';

/** Decodes the client's session header; answers 404 and returns null when it is not ours or not theirs. */
export function openSession(m: McpRequest, deps: McpDeps, id: JsonRpcId | null): OpenedSession | null {
  const header = headerValue(m.req, 'mcp-session-id');
  if (header === undefined) return { session: null, header };
  const session = deps.sessions.decode(header);
  if (session === null || session.principal !== sessionOwner(m.claims, m.route.sessionScope)) {
    // The spec's answer to an unknown session: 404, and the client re-initializes.
    refuse(m, new Refusal('GW_SESSION_NOT_FOUND', 'Session not found'), id);
    return null;
  }
  return { session, header };
}
