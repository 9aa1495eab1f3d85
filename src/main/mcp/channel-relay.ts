// MCP over a message channel (stdio, legacy SSE), served to the client as Streamable HTTP:
// requests get a JSON answer, notifications 202, and the GET stream carries what the server
// sends on its own. The session is opened by `initialize` and named in the sealed session id.

import { JsonRpcError, errorMessage, type JsonRpcId, type ParsedMessage } from '../../protocol/jsonrpc.js';
import { listKindOf } from '../../protocol/mcp.js';
import { formatEvent } from '../../protocol/sse.js';
import { jsonHeaders, send, sendRpcError, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { ChannelLimitError, type ChannelSession } from './channels/channel-hub.js';
import { DrainGate } from './channels/drain-gate.js';
import { filterList, filteredWriter, listKindIn, listsFiltered, type FilteredWriter } from './list-filter.js';
import { sessionOwner } from './session-id.js';
import { upstreamRequestHeaders, type ChannelTarget } from './upstream.js';

export interface ChannelAnswer {
  readonly sessionId: string | undefined;
  /** response text for a request; null for a notification */
  readonly text: string | null;
  readonly error: string | null;
  /** true when the session id is unknown here (the client must re-initialize) */
  readonly unknownSession: boolean;
  /** true when a new session was refused for a limit (503: retry later) */
  readonly limited?: boolean;
}

async function sessionFor(m: McpRequest, deps: McpDeps, target: ChannelTarget, opened: OpenedSession, message: ParsedMessage): Promise<ChannelSession | 'unknown' | 'required'> {
  const id = opened.session?.upstream[target.name];
  if (id !== undefined) return deps.channels.get(id) ?? 'unknown';
  if (message.kind === 'request' && message.method === 'initialize') {
    const headers = upstreamRequestHeaders(m.headers, { sessionId: undefined, authorization: m.upstreamAuthorization });
    return deps.channels.open(target.spec, headers, sessionOwner(m.claims, m.route.sessionScope));
  }
  return 'required';
}

export async function channelExchange(
  m: McpRequest, deps: McpDeps, target: ChannelTarget, text: string, message: ParsedMessage, opened: OpenedSession, signal: AbortSignal,
): Promise<ChannelAnswer> {
  let session: ChannelSession | 'unknown' | 'required';
  try {
    session = await sessionFor(m, deps, target, opened, message);
  } catch (err) {
    const limited = err instanceof ChannelLimitError;
    return { sessionId: undefined, text: null, error: err instanceof Error ? err.message : String(err), unknownSession: false, limited };
  }
  if (session === 'unknown') return { sessionId: undefined, text: null, error: 'session not found', unknownSession: true };
  if (session === 'required') return { sessionId: undefined, text: null, error: `${target.name} needs a session: send initialize first`, unknownSession: false };
  if (message.kind !== 'request') {
    const ok = session.notify(text);
    return { sessionId: session.id, text: null, error: ok ? null : 'upstream channel is closed', unknownSession: false };
  }
  try {
    return { sessionId: session.id, text: await session.request(message.id, text, signal), error: null, unknownSession: false };
  } catch (err) {
    return { sessionId: session.id, text: null, error: err instanceof Error ? err.message : String(err), unknownSession: false };
  }
}

function sessionHeader(m: McpRequest, deps: McpDeps, target: ChannelTarget, opened: OpenedSession, sessionId: string | undefined): Array<readonly [string, string]> {
  if (sessionId === undefined) return [];
  if (opened.session?.upstream[target.name] === sessionId && opened.header !== undefined) return [['mcp-session-id', opened.header]];
  return [['mcp-session-id', deps.sessions.encode({ upstream: { ...(opened.session?.upstream ?? {}), [target.name]: sessionId }, principal: sessionOwner(m.claims, m.route.sessionScope) })]];
}

/** One POST to a single channel target. */
export async function channelPost(m: McpRequest, deps: McpDeps, target: ChannelTarget, body: Buffer, message: ParsedMessage, opened: OpenedSession): Promise<void> {
  if (message.kind === 'invalid') return;
  const abort = new AbortController();
  m.reply.onClose((aborted) => aborted && abort.abort());
  const id: JsonRpcId | null = message.kind === 'request' ? message.id : null;
  const answer = await channelExchange(m, deps, target, body.toString('utf8'), message, opened, abort.signal);
  // A session opened by this initialize that the client will not use (it failed, was refused,
  // or the client left) ends now: its process would otherwise wait for the idle reaper.
  const opensSession = answer.sessionId !== undefined && answer.sessionId !== opened.session?.upstream[target.name];
  const release = (): void => {
    if (opensSession && answer.sessionId !== undefined) deps.channels.end(answer.sessionId);
  };
  if (!m.reply.open) {
    release();
    return;
  }
  if (answer.unknownSession) {
    m.record.error = 'session not found';
    sendRpcError(m, 404, id, -32001, 'Session not found');
    return;
  }
  if (answer.error !== null) {
    release();
    m.record.error = `upstream ${target.name}: ${answer.error}`;
    if (answer.limited === true) send(m, 503, [...jsonHeaders, ['retry-after', '5']], errorMessage(id, JsonRpcError.internalError, `upstream ${target.name}: ${answer.error}`));
    else if (id === null) send(m, 400, [['content-type', 'text/plain']], answer.error);
    else sendRpcError(m, answer.sessionId === undefined ? 400 : 502, id, JsonRpcError.internalError, `upstream ${target.name}: ${answer.error}`);
    return;
  }
  const refused = opensSession && answer.text !== null && isErrorAnswer(answer.text);
  if (refused) release();
  const headers = refused ? [] : sessionHeader(m, deps, target, opened, answer.sessionId);
  if (answer.text === null) {
    m.reply.send(202, [...headers, ...m.corsHeaders], '');
    return;
  }
  // Any answer may carry a list (a server can put one on another request's answer), as on HTTP.
  const list = listsFiltered(m) ? listKindIn(answer.text, message.kind === 'request' ? listKindOf(message.method) : null) : null;
  let out = answer.text;
  try {
    if (list !== null) out = (await filterList(m, deps, target.name, list, answer.text)) ?? answer.text;
  } catch (err) {
    release(); // the client gets an error, not the session
    throw err;
  }
  if (!m.reply.open) {
    release();
    return;
  }
  send(m, 200, [...jsonHeaders, ...headers], out);
}

/** Whether an answer is a JSON-RPC error (one that is not JSON counts as one). */
function isErrorAnswer(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v !== 'object' || v === null || 'error' in v;
  } catch {
    return true;
  }
}

/** What one GET stream may have pending of a session's messages (queued for the filter, or
 * written and unsent) before it is closed. The session's process or connection also carries the
 * answers to its POSTs, so it is not paused for one slow reader: the reader is let go instead. */
export const maxPendingStreamBytes = 16 * 1024 * 1024;

/** A session listener writing to a GET stream through the filter, closing the stream when the
 * client falls too far behind (a message larger than the bound still goes to a client that has
 * nothing pending). */
export function sessionWriter(m: McpRequest, deps: McpDeps, target: string, gate: DrainGate): FilteredWriter {
  const writer = filteredWriter(m, deps, target, (text) => gate.write(formatEvent(text)));
  let queued = 0;
  return {
    message: (text) => {
      if (!m.reply.open) return;
      const pending = queued + gate.held;
      if (pending > 0 && pending + text.length > maxPendingStreamBytes) {
        m.record.error = `GET stream closed: the client fell more than ${maxPendingStreamBytes / 1024 / 1024} MiB behind ${target}'s messages`;
        m.reply.destroy();
        return;
      }
      queued += text.length;
      writer.message(text);
      writer.after(() => {
        queued -= text.length;
      });
    },
    after: writer.after,
  };
}

/** GET: the session's server-initiated messages as an event stream, until either side leaves. */
export function channelStream(m: McpRequest, deps: McpDeps, target: ChannelTarget, opened: OpenedSession): void {
  const id = opened.session?.upstream[target.name];
  const session = id === undefined ? undefined : deps.channels.get(id);
  if (session === undefined) {
    m.record.error = 'session not found';
    sendRpcError(m, id === undefined ? 400 : 404, null, -32001, id === undefined ? 'Mcp-Session-Id required' : 'Session not found');
    return;
  }
  m.reply.headStream(200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache'], ...m.corsHeaders]);
  const writer = sessionWriter(m, deps, target.name, new DrainGate(m.reply));
  const unsubscribe = session.subscribe(writer.message, () => writer.after(() => m.reply.finish()));
  m.reply.onClose(() => unsubscribe());
}

export function channelDelete(deps: McpDeps, target: ChannelTarget, opened: OpenedSession): void {
  const id = opened.session?.upstream[target.name];
  if (id !== undefined) deps.channels.end(id);
}
