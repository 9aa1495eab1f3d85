// Several targets behind one MCP endpoint (agentgateway's multiplexing). Names are shown as
// `<target>_<name>` (resources `<target>+<uri>`); calls are routed by that prefix in relay.ts.
// Everything else goes to every target: `initialize` (its result synthesised, the session
// record holding every upstream session), list methods (filtered and renamed per target, then
// merged), notifications, and the GET event stream (merged; event ids carry the target so a
// resumption goes back to the right upstream). Any failing target fails the request: a gateway
// that silently drops a target would show a partial, misleading tool list.

import type { Readable } from 'node:stream';
import type { ListKind } from '../../protocol/worker-contract.js';
import { JsonRpcError, type JsonRpcId, type ParsedMessage } from '../../protocol/jsonrpc.js';
import { replaceMessageId } from '../../protocol/message-id.js';
import { listKindOf } from '../../protocol/mcp.js';
import { SseSplitter, parseEventBlock, replaceEventData } from '../../protocol/sse.js';
import { BufferBudgetError, type ByteAccount } from '../http/byte-budget.js';
import { headerValue } from '../http/request.js';
import { celContext, jsonHeaders, send, sendRpcError, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { sessionOwner } from './session-id.js';
import { channelExchange, sessionWriter } from './channel-relay.js';
import { DrainGate } from './channels/drain-gate.js';
import { filterServerMessage } from './list-filter.js';
import { discard } from './discard-body.js';
import { firstHeader, recordFields, relayResponseHeaders, upstreamRequestHeaders, type HttpTarget, type UpstreamTarget } from './upstream.js';

interface Answer {
  readonly target: UpstreamTarget;
  readonly sessionId: string | undefined;
  /** the final JSON-RPC message for a request; null for an accepted notification */
  readonly message: Record<string, unknown> | null;
  readonly error: string | null;
  /** the upstream no longer knows the session (HTTP 404, or a local channel session gone) */
  readonly sessionGone?: boolean;
}

const maxAnswerBytes = 16 * 1024 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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

async function ask(m: McpRequest, deps: McpDeps, target: UpstreamTarget, body: Buffer, message: ParsedMessage, opened: OpenedSession, id: JsonRpcId | null, signal: AbortSignal): Promise<Answer> {
  if (target.kind === 'channel') {
    const a = await channelExchange(m, deps, target, body.toString('utf8'), message, opened, signal);
    let parsed: unknown = null;
    try {
      parsed = a.text === null ? null : JSON.parse(a.text);
    } catch {
      parsed = null;
    }
    return { target, sessionId: a.sessionId, message: isRecord(parsed) ? parsed : null, error: a.error, sessionGone: a.unknownSession };
  }
  const sessionId = opened.session?.upstream[target.name];
  // Known once the headers are in: an answer that breaks off after them still names the session
  // it opened, which releaseNewSessions must end.
  let sid = sessionId;
  try {
    const res = await target.pools.calls.request({
      path: target.path,
      method: 'POST',
      headers: upstreamRequestHeaders(m.headers, { sessionId, authorization: m.upstreamAuthorization }),
      body,
      signal,
    });
    const fields = recordFields(res.headers);
    sid = firstHeader(fields, 'mcp-session-id') ?? sessionId;
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      return { target, sessionId: sid, message: null, error: `answered HTTP ${res.statusCode}`, sessionGone: res.statusCode === 404 && sessionId !== undefined };
    }
    if (id === null) {
      await res.body.dump();
      return { target, sessionId: sid, message: null, error: null };
    }
    const text = await readCapped(res.body, m.held);
    const eventStream = (firstHeader(fields, 'content-type') ?? '').includes('text/event-stream');
    const message = findResponse(text, eventStream, id);
    return { target, sessionId: sid, message, error: message === null ? 'no response in the answer' : null };
  } catch (err) {
    return { target, sessionId: sid, message: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The whole answer; its bytes count against the request's budget account until the request is done. */
async function readCapped(body: Readable, held: ByteAccount): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (!(chunk instanceof Uint8Array)) continue;
    size += chunk.byteLength;
    if (size > maxAnswerBytes) {
      discard(body);
      throw new Error(`answer larger than ${maxAnswerBytes} bytes`);
    }
    if (!held.take(chunk.byteLength)) {
      discard(body);
      throw new BufferBudgetError(held.limit);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sessionHeader(m: McpRequest, deps: McpDeps, opened: OpenedSession, answers: readonly Answer[]): Array<readonly [string, string]> {
  const upstream: Record<string, string> = { ...(opened.session?.upstream ?? {}) };
  let changed = false;
  for (const a of answers) {
    if (a.sessionId !== undefined && upstream[a.target.name] !== a.sessionId) {
      upstream[a.target.name] = a.sessionId;
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
 * HTTP targets get the DELETE the spec has clients send; best effort, as for a client's DELETE.
 */
function releaseNewSessions(m: McpRequest, deps: McpDeps, opened: OpenedSession, answers: readonly Answer[]): void {
  for (const a of answers) {
    if (a.sessionId !== undefined && a.sessionId !== opened.session?.upstream[a.target.name]) endUpstreamSession(m, deps, a.target, a.sessionId);
  }
}

/** Ends the upstream sessions of the client's session, which has ended for the client (one of
 * its targets, among `gone`, no longer knows its part). */
function endSession(m: McpRequest, deps: McpDeps, opened: OpenedSession, gone: ReadonlySet<string>): void {
  for (const t of m.targets) {
    const id = opened.session?.upstream[t.name];
    if (id !== undefined && !gone.has(t.name)) endUpstreamSession(m, deps, t, id);
  }
}

/** One upstream session ended now: a channel's (its process or connection) at once, an HTTP
 * target's by a DELETE not waited for. */
function endUpstreamSession(m: McpRequest, deps: McpDeps, target: UpstreamTarget, id: string): void {
  if (target.kind === 'channel') deps.channels.end(id);
  else void deleteSession(m, target, id);
}

/** DELETE of an upstream session (the extra targets of a client's DELETE, sessions let go);
 * the outcome is not the client's concern. */
export async function deleteSession(m: McpRequest, target: HttpTarget, sessionId: string | undefined): Promise<void> {
  if (sessionId === undefined) return;
  try {
    const res = await target.pools.calls.request({
      path: target.path,
      method: 'DELETE',
      headers: upstreamRequestHeaders(m.headers, { sessionId, authorization: m.upstreamAuthorization }),
    });
    await res.body.dump();
  } catch {
    // the upstream's own session expiry is the fallback
  }
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
    sendRpcError(m, 200, id, JsonRpcError.methodNotFound, `Method not found: ${method} is not supported across several targets`);
    return;
  }
  const abort = new AbortController();
  m.reply.onClose((aborted) => aborted && abort.abort());
  const answers = await Promise.all(m.targets.map((t) => ask(m, deps, t, body, message, opened, id, abort.signal)));
  if (!m.reply.open) {
    releaseNewSessions(m, deps, opened, answers);
    return;
  }
  if (answers.some((a) => a.sessionGone === true)) {
    // One upstream session ended: the client must re-initialize (spec: 404 for an ended session),
    // so the session's other upstream sessions are ended too rather than left to the reaper.
    releaseNewSessions(m, deps, opened, answers);
    endSession(m, deps, opened, new Set(answers.flatMap((a) => (a.sessionGone === true ? [a.target.name] : []))));
    m.record.error = 'session not found';
    sendRpcError(m, 404, id, -32001, 'Session not found');
    return;
  }
  const failed = answers.find((a) => a.error !== null);
  if (failed !== undefined) {
    releaseNewSessions(m, deps, opened, answers);
    m.record.mcpTarget = failed.target.name;
    m.record.error = `upstream ${failed.target.name} failed: ${failed.error ?? ''}`;
    if (id === null) send(m, 502, [['content-type', 'text/plain']], `upstream ${failed.target.name} failed`);
    else sendRpcError(m, 502, id, JsonRpcError.internalError, `upstream ${failed.target.name} failed`);
    return;
  }
  const upstreamError = id === null ? undefined : answers.find((a) => a.message !== null && 'error' in a.message);
  // A refused initialize opens no session for the client: what its targets opened is let go.
  const refusedInit = method === 'initialize' && upstreamError !== undefined;
  if (refusedInit) releaseNewSessions(m, deps, opened, answers);
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
  const ref = m.route.mcpAuthorization;
  const parts = await Promise.all(
    answers.map(async (a) => {
      const text = JSON.stringify(a.message);
      const filtered = await deps.decider().filter({
        op: 'filter',
        ruleSet: ref?.id ?? deps.allowAllRuleSet,
        ctx: ref === null ? { jwt: m.claims, mcp: null, request: null, source: null } : celContext(m, ref, null),
        list,
        target: a.target.name,
        prefix: true,
        body: text,
      });
      if (filtered.ruleErrors > 0) deps.onRuleErrors(filtered.ruleErrors);
      const parsed: unknown = JSON.parse(filtered.body ?? text);
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

/** Separates the target from a server's own request id as the client sees it. */
const requestIdSeparator = '~';

/**
 * A server's own request (sampling, elicitation, roots) as the client of several targets sees
 * it: its id tagged with the target (`<target>~<id as JSON>`), so the client's answer goes back
 * to that target alone (untagAnswer), under the id it chose. Each server numbers its requests
 * itself: untagged, two targets' requests share ids, and an answer sent to every target reached
 * one that never asked. Any other message is returned unchanged.
 */
export function tagServerRequest(target: string, text: string): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(v) || typeof v['method'] !== 'string') return text;
  const id = v['id'];
  if (typeof id !== 'string' && typeof id !== 'number') return text;
  return replaceMessageId(text, `${target}${requestIdSeparator}${JSON.stringify(id)}`) ?? text;
}

/** The target a client's answer (a JSON-RPC response) is for and the answer under that server's
 * own id; null when its id is no tag of tagServerRequest's naming one of the targets. */
export function untagAnswer(targets: readonly UpstreamTarget[], id: JsonRpcId | null, text: string): { target: UpstreamTarget; body: Buffer } | null {
  if (typeof id !== 'string') return null;
  const at = id.indexOf(requestIdSeparator);
  const target = at > 0 ? targets.find((t) => t.name === id.slice(0, at)) : undefined;
  if (target === undefined) return null;
  let original: unknown;
  try {
    original = JSON.parse(id.slice(at + 1));
  } catch {
    return null;
  }
  if (typeof original !== 'string' && typeof original !== 'number') return null;
  const body = replaceMessageId(text, original);
  return body === null ? null : { target, body: Buffer.from(body) };
}

/** Separates the target from an upstream event id in the merged GET stream. */
const eventIdSeparator = '~';

/** GET: the targets' event streams merged into one. */
export async function mergeStreams(m: McpRequest, deps: McpDeps, opened: OpenedSession): Promise<void> {
  const lastEventId = headerValue(m.req, 'last-event-id');
  const channelIds = m.targets.flatMap((t) => {
    const id = t.kind === 'channel' ? opened.session?.upstream[t.name] : undefined;
    return id === undefined ? [] : [{ target: t, session: deps.channels.get(id) }];
  });
  const channelSessions = channelIds.flatMap((c) => (c.session === undefined ? [] : [{ target: c.target, session: c.session }]));
  if (channelSessions.length < channelIds.length) {
    // One of its sessions ended: the client must initialize again (as a POST in it learns).
    endSession(m, deps, opened, new Set());
    m.record.error = 'session not found';
    sendRpcError(m, 404, null, -32001, 'Session not found');
    return;
  }
  let targets = m.targets.filter((t): t is HttpTarget => t.kind === 'http');
  let resumeId: string | undefined;
  if (lastEventId !== undefined) {
    const at = lastEventId.indexOf(eventIdSeparator);
    const t = at > 0 ? targets.find((x) => x.name === lastEventId.slice(0, at)) : undefined;
    if (t !== undefined) {
      targets = [t];
      resumeId = lastEventId.slice(at + 1);
    }
  }
  const abort = new AbortController();
  m.reply.onClose((aborted) => aborted && abort.abort());
  // The session's POSTs that arrive meanwhile wait until every upstream has answered this GET.
  const opening = deps.streamGate.opening(opened.header);
  const opens = await Promise.allSettled(
    targets.map(async (t) => {
      const headers = upstreamRequestHeaders(m.headers, { sessionId: opened.session?.upstream[t.name], authorization: m.upstreamAuthorization });
      if (resumeId !== undefined) headers['last-event-id'] = resumeId;
      else delete headers['last-event-id'];
      const res = await t.pools.streams.request({ path: t.path, method: 'GET', headers, signal: abort.signal });
      return { target: t, res };
    }),
  ).finally(opening);
  const opened200 = opens.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  // A target without server-initiated messages (stateless) answers 405: leave it out of the merge
  // (405 to the client only when no target has a stream; a channel session always has one).
  const none = channelSessions.length === 0 && opened200.every((x) => x.res.statusCode === 405);
  const streams = opened200.filter((s) => s.res.statusCode !== 405 || none);
  for (const s of opened200) if (!streams.includes(s)) discard(s.res.body);
  const bad = streams.find((s) => s.res.statusCode !== 200);
  if (opened200.length < opens.length || bad !== undefined) {
    abort.abort();
    for (const s of streams) discard(s.res.body);
    if (!m.reply.open) return;
    if (bad !== undefined) {
      m.record.mcpTarget = bad.target.name;
      send(m, bad.res.statusCode, relayResponseHeaders(recordFields(bad.res.headers)).filter(([k]) => k === 'content-type' || k === 'allow'), '');
    } else {
      m.record.error = 'upstream stream failed';
      send(m, 502, [['content-type', 'text/plain']], 'upstream stream failed');
    }
    return;
  }
  m.reply.headStream(200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache'], ...m.corsHeaders]);
  const gate = new DrainGate(m.reply);
  let sessionEnded = (): void => {};
  const ended = new Promise<void>((resolve) => {
    sessionEnded = resolve;
  });
  // What the servers send on their own passes the list filter too (found by shape, renamed).
  const unsubscribes = channelSessions.map(({ target, session }) => {
    const writer = sessionWriter(m, deps, target.name, gate);
    // A session that ends (its process exited) ends the stream, as a single target's does: the
    // client learns it must initialize again.
    return session.subscribe((text) => writer.message(tagServerRequest(target.name, text)), () => writer.after(sessionEnded));
  });
  m.reply.onClose(() => {
    unsubscribes.forEach((u) => u());
    sessionEnded();
  });
  const relayed = Promise.all(streams.map((s) => relayEvents(m, deps, gate, s.target, s.res.body)));
  // Channel targets keep the stream open until the client leaves or a session ends.
  await (channelSessions.length > 0 ? ended : relayed);
  abort.abort();
  m.reply.finish();
}

/** One target's GET stream into the merged one: event ids tagged with the target, and any list
 * (a resumed stream may replay an answer) filtered and prefixed, found by its shape. */
async function relayEvents(m: McpRequest, deps: McpDeps, gate: DrainGate, target: HttpTarget, body: Readable): Promise<void> {
  const splitter = new SseSplitter();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      if (!m.reply.open) break;
      if (!(chunk instanceof Uint8Array)) continue;
      let out = '';
      for (const event of splitter.push(decoder.decode(chunk, { stream: true }))) {
        const lines = event.lines.map((l) => (l.startsWith('id:') ? `id: ${target.name}${eventIdSeparator}${l.slice(3).trim()}` : l));
        const data = event.data === null ? null : tagServerRequest(target.name, await filterServerMessage(m, deps, target.name, event.data));
        out += data === null || data === event.data ? `${lines.join('\n')}\n\n` : replaceEventData({ lines, data }, data);
      }
      // Read no more until the client has taken this: the upstream waits, not our memory.
      if (out !== '' && m.reply.open && !gate.write(out)) await gate.drained();
    }
  } catch {
    // one target's stream ended badly (or could not be filtered); the others go on
  }
  discard(body);
}
