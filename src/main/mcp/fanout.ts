// Several targets behind one MCP endpoint (agentgateway's multiplexing). Names are shown as
// `<target>_<name>` (resources `<target>+<uri>`); calls are routed by that prefix in relay.ts.
// Everything else goes to every target: `initialize` (its result synthesised, the session
// record holding every upstream session), list methods (filtered and renamed per target, then
// merged), notifications, and the GET event stream (merged; event ids carry the target so a
// resumption goes back to the right upstream). Any failing target fails the request: a gateway
// that silently drops a target would show a partial, misleading tool list.

import type { ListKind } from '../../protocol/worker-contract.js';
import type { JsonRpcId, ParsedMessage } from '../../protocol/jsonrpc.js';
import { listKindOf } from '../../protocol/mcp.js';
import { parseEventBlock } from '../../protocol/sse.js';
import { Refusal } from '../refusals.js';
import { AnswerFailedError, wholeAnswer, type WholeAnswer } from '../upstream/answer-readers.js';
import { firstHeader, isEventStreamAnswer } from '../upstream/headers.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { callerContext, jsonHeaders, refuse, send, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { sessionOwner } from './session-id.js';
import { isRecord } from '../../protocol/is-record.js';

interface Answer {
  readonly target: UpstreamTarget;
  readonly sessionId: string | undefined;
  /** the final JSON-RPC message for a request; null for an accepted notification */
  readonly message: Record<string, unknown> | null;
  readonly error: Error | null;
  /** the upstream no longer knows the session (404 for a session it was sent) */
  readonly sessionGone?: boolean;
}

const maxAnswerBytes = 16 * 1024 * 1024;

/** The response with our id in a JSON body or an event stream. */
function findResponse(text: string, eventStream: boolean, id: JsonRpcId | null): Record<string, unknown> | null {
  const candidates: string[] = [];
  if (eventStream) {
    for (const block of text.split(/\r\n\r\n|\n\n/)) {
      const ev = parseEventBlock(block);
      if (ev.data !== null && ev.data !== '') candidates.push(ev.data);
    }
  } else candidates.push(text);
  for (const c of candidates) {
    try {
      const v: unknown = JSON.parse(c);
      if (isRecord(v) && v['id'] === id && ('result' in v || 'error' in v)) return v;
    } catch {
      // not JSON: a comment or a priming event
    }
  }
  return null;
}

/** One target's whole answer to the message, or why there is none. */
async function ask(m: McpRequest, target: UpstreamTarget, body: Buffer, message: ParsedMessage, opened: OpenedSession, id: JsonRpcId | null, signal: AbortSignal): Promise<Answer> {
  const sessionId = opened.session?.upstream.get(target.name);
  const reading = wholeAnswer(m.held, maxAnswerBytes, signal);
  target.send(callerContext(m), { method: 'POST', sessionId, body, message }, reading.handler);
  let answer: WholeAnswer;
  try {
    answer = await reading.answer;
  } catch (err) {
    // Known once the headers are in: an answer that breaks off after them still names the
    // session it opened, which releaseNewSessions must end.
    const fields = err instanceof AnswerFailedError ? err.fields : null;
    const cause = err instanceof AnswerFailedError && err.cause instanceof Error ? err.cause : err instanceof Error ? err : new Error(String(err));
    const gone = cause instanceof Refusal && cause.status === 404 && sessionId !== undefined;
    return { target, sessionId: (fields === null ? undefined : firstHeader(fields, 'mcp-session-id')) ?? sessionId, message: null, error: cause, sessionGone: gone };
  }
  const sid = firstHeader(answer.fields, 'mcp-session-id') ?? sessionId;
  if (answer.status < 200 || answer.status >= 300) {
    return { target, sessionId: sid, message: null, error: new Error(`answered HTTP ${answer.status}`), sessionGone: answer.status === 404 && sessionId !== undefined };
  }
  if (id === null) return { target, sessionId: sid, message: null, error: null };
  const eventStream = isEventStreamAnswer(answer.fields);
  const found = findResponse(answer.text, eventStream, id);
  return { target, sessionId: sid, message: found, error: found === null ? new Error('no response in the answer') : null };
}

function sessionHeader(m: McpRequest, deps: McpDeps, opened: OpenedSession, answers: readonly Answer[]): Array<readonly [string, string]> {
  const upstream = new Map(opened.session?.upstream);
  let changed = false;
  for (const a of answers) {
    if (a.sessionId !== undefined && upstream.get(a.target.name) !== a.sessionId) {
      upstream.set(a.target.name, a.sessionId);
      changed = true;
    }
  }
  if (!changed) return opened.header === undefined ? [] : [['mcp-session-id', opened.header]];
  return [['mcp-session-id', deps.sessions.encode({ upstream, principal: sessionOwner(m.claims, m.route.sessionScope) })]];
}

/**
 * Ends the upstream sessions this request opened when the client will not learn of them (the
 * request failed, or the client left): a failed multi-target `initialize` would otherwise leave
 * the targets that did answer holding a session (a stdio process, say) until the idle reaper.
 */
function releaseNewSessions(m: McpRequest, opened: OpenedSession, answers: readonly Answer[]): void {
  const ctx = callerContext(m);
  for (const a of answers) {
    if (a.sessionId !== undefined && a.sessionId !== opened.session?.upstream.get(a.target.name)) void a.target.endSession(ctx, a.sessionId);
  }
}

/** Ends the upstream sessions of the client's session, which has ended for the client (one of
 * its targets, among `gone`, no longer knows its part). */
export function endSession(m: McpRequest, opened: OpenedSession, gone: ReadonlySet<string>): void {
  const ctx = callerContext(m);
  for (const t of m.targets) {
    const id = opened.session?.upstream.get(t.name);
    if (id !== undefined && !gone.has(t.name)) void t.endSession(ctx, id);
  }
}

/** The client's DELETE, to the targets past the first (whose answer the client gets): the
 * outcome is not the client's concern. */
export async function endOtherSessions(m: McpRequest, opened: OpenedSession): Promise<void> {
  const ctx = callerContext(m);
  await Promise.all(
    m.targets.slice(1).map((t) => {
      const id = opened.session?.upstream.get(t.name);
      return id === undefined ? undefined : t.endSession(ctx, id);
    }),
  );
}

const listKeys: Readonly<Record<ListKind, string>> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resourceTemplates',
};

/** A request, notification or client response that is not a routed call, to every target. */
export async function fanOut(m: McpRequest, deps: McpDeps, message: ParsedMessage, body: Buffer, opened: OpenedSession): Promise<void> {
  if (message.kind === 'invalid') return;
  const id = message.kind === 'request' ? message.id : null;
  const method = message.kind === 'response' ? null : message.method;
  const list = method === null ? null : listKindOf(method);
  if (message.kind === 'request' && method !== 'initialize' && method !== 'ping' && method !== 'logging/setLevel' && list === null) {
    refuse(m, new Refusal('GW_METHOD_NOT_FOUND', `Method not found: ${method} is not supported across several targets`), id);
    return;
  }
  const abort = new AbortController();
  m.reply.onClose((aborted) => aborted && abort.abort());
  const answers = await Promise.all(m.targets.map((t) => ask(m, t, body, message, opened, id, abort.signal)));
  if (!m.reply.open) {
    releaseNewSessions(m, opened, answers);
    return;
  }
  if (answers.some((a) => a.sessionGone === true)) {
    // One upstream session ended: the client must re-initialize (spec: 404 for an ended session),
    // so the session's other upstream sessions are ended too rather than left to the reaper.
    releaseNewSessions(m, opened, answers);
    endSession(m, opened, new Set(answers.flatMap((a) => (a.sessionGone === true ? [a.target.name] : []))));
    refuse(m, new Refusal('GW_SESSION_NOT_FOUND', 'Session not found'), id);
    return;
  }
  const failed = answers.find((a) => a.error !== null);
  if (failed !== undefined) {
    releaseNewSessions(m, opened, answers);
    m.record.mcpTarget = failed.target.name;
    const err = failed.error;
    if (err instanceof Refusal) {
      refuse(m, err, id);
      return;
    }
    refuse(
      m,
      new Refusal('GW_UPSTREAM_UNAVAILABLE', `upstream ${failed.target.name} failed`, {
        log: `upstream ${failed.target.name} failed: ${err?.message ?? ''}`,
        ...(id === null ? { form: 'text' } : {}),
      }),
      id,
    );
    return;
  }
  const upstreamError = id === null ? undefined : answers.find((a) => a.message !== null && 'error' in a.message);
  // A refused initialize opens no session for the client: what its targets opened is let go.
  const refusedInit = method === 'initialize' && upstreamError !== undefined;
  if (refusedInit) releaseNewSessions(m, opened, answers);
  const session = refusedInit ? [] : sessionHeader(m, deps, opened, answers);
  if (id === null) {
    m.reply.send(202, [...session, ...m.corsHeaders], '');
    return;
  }
  if (upstreamError?.message) {
    m.record.mcpTarget = upstreamError.target.name;
    // The error alone: a hostile upstream's error may also hold a `result` (a list, say) that
    // no filter has seen.
    send(m, 200, [...jsonHeaders, ...session], JSON.stringify({ jsonrpc: '2.0', id, error: upstreamError.message['error'] }));
    return;
  }
  let result: Record<string, unknown>;
  if (method === 'initialize') result = initializeResult(answers, deps.gatewayVersion);
  else if (list !== null) result = { [listKeys[list]]: await mergedList(m, deps, list, answers) };
  else result = {};
  send(m, 200, [...jsonHeaders, ...session], JSON.stringify({ jsonrpc: '2.0', id, result }));
}

async function mergedList(m: McpRequest, deps: McpDeps, list: ListKind, answers: readonly Answer[]): Promise<unknown[]> {
  const parts = await Promise.all(
    answers.map(async (a) => {
      const text = JSON.stringify(a.message);
      const filtered = await deps.authorization.filterList(m.route.mcpAuthorization, m, { list, target: a.target.name, prefix: true, body: text });
      const parsed: unknown = JSON.parse(filtered ?? text);
      const items = isRecord(parsed) && isRecord(parsed['result']) ? parsed['result'][listKeys[list]] : undefined;
      return Array.isArray(items) ? items : [];
    }),
  );
  return parts.flat();
}

function initializeResult(answers: readonly Answer[], version: string): Record<string, unknown> {
  const results = answers.map((a) => (a.message !== null && isRecord(a.message['result']) ? a.message['result'] : {}));
  const versions = results.map((r) => r['protocolVersion']).filter((v): v is string => typeof v === 'string').sort();
  const instructions = answers
    .map((a, i) => {
      const text = results[i]?.['instructions'];
      return typeof text === 'string' && text !== '' ? `[${a.target.name}]\n${text}` : null;
    })
    .filter((x): x is string => x !== null);
  const capabilities: Record<string, unknown> = { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } };
  if (results.some((r) => isRecord(r['capabilities']) && 'logging' in r['capabilities'])) capabilities['logging'] = {};
  return {
    // The lowest version every upstream speaks.
    protocolVersion: versions[0] ?? '2025-06-18',
    capabilities,
    serverInfo: { name: 'portcullis', version },
    ...(instructions.length > 0 ? { instructions: instructions.join('\n\n') } : {}),
  };
}
