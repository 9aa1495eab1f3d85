// The MCP backend: Streamable HTTP in front, whatever the target's transport behind. Requests are
// relayed as they are (bytes, not re-serialised JSON) except where policy needs to act: calls to
// a denied tool/prompt/resource never reach the upstream, list results are filtered per item, and
// the session id is swapped for the gateway's sealed record. This file dispatches a request by
// method and path; a POST is handled in post.ts, a legacy HTTP+SSE POST in legacy-post.ts.

import { decodeComponent, headerValue } from '../http/request.js';
import type { Maybe } from '../maybe-async.js';
import { Refusal } from '../refusals.js';
import { refuse, type McpDeps, type McpRequest } from './context.js';
import { endOtherSessions } from './fanout.js';
import { forward } from './forward.js';
import { legacyPost } from './legacy-post.js';
import { mergeStreams } from './merged-stream.js';
import { originAllowed } from './origin.js';
import { handlePost } from './post.js';
import { chargeRateLimit } from './rate-limit-charge.js';
import { openSession } from './open-session.js';

export function handleMcp(m: McpRequest, deps: McpDeps): Maybe<void> {
  m.record.protocol = 'mcp';
  const origin = headerValue(m.req, 'origin');
  if (origin !== undefined && !originAllowed(origin, m.route)) {
    // DNS rebinding: a page of another site reaching the gateway by a name that now points here.
    refuse(m, new Refusal('GW_ORIGIN_NOT_ALLOWED', 'Forbidden: Origin not allowed', { log: `origin not allowed: ${origin}` }), null);
    return;
  }
  if (m.req.path === '/sse' || m.req.path.endsWith('/sse')) {
    if (m.req.method === 'GET') {
      m.record.mcpMethod = 'sse';
      deps.legacy.open(m);
      return;
    }
    const sessionId = /(?:^|&)sessionId=([^&]*)/.exec(m.req.query)?.[1];
    if (m.req.method === 'POST' && sessionId !== undefined) {
      const decoded = decodeComponent(sessionId); // null for `%zz`: no id any server handed out
      if (decoded !== null) return legacyPost(m, deps, decoded, handlePost);
      refuse(m, new Refusal('GW_BAD_REQUEST', 'failed to process session_id', { log: 'malformed session id' }), null);
      return;
    }
  }
  switch (m.req.method) {
    case 'POST':
      return handlePost(m, deps);
    case 'GET':
    case 'DELETE':
      return handleSessionRequest(m, deps);
    default:
      refuse(m, new Refusal('GW_METHOD_NOT_ALLOWED', 'Method Not Allowed', { headers: [['allow', 'GET, POST, DELETE']] }), null);
  }
}

async function handleSessionRequest(request: McpRequest, deps: McpDeps): Promise<void> {
  request.record.mcpMethod = request.req.method === 'GET' ? 'stream' : 'session/delete';
  const opened = openSession(request, deps, null);
  if (opened === null) return;
  const m = chargeRateLimit(request, deps, null, null);
  if (m === null) return;
  const target = m.targets[0];
  if (target === undefined) {
    refuse(m, new Refusal('GW_NO_BACKEND', 'no upstream target', { status: 502 }), null);
    return;
  }
  if (m.targets.length > 1) {
    if (m.req.method === 'GET') return mergeStreams(m, deps, opened);
    await endOtherSessions(m, opened);
  }
  await forward(m, deps, target, null, opened, null);
}
