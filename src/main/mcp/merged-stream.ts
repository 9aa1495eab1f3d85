// GET on a route with several targets: their event streams merged into one. Event ids carry
// the target (`<target>~<id>`), so a Last-Event-ID goes back to the target that sent it; what a
// server sends on its own passes the list filter (found by shape, renamed) and its own requests
// are tagged with the target. A target without a stream (405, or no session of it) is left out.

import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { SseSplitter, replaceEventData } from '../../protocol/sse.js';
import { headerValue } from '../http/request.js';
import { Refusal } from '../refusals.js';
import { streamedAnswer, type StreamedAnswer } from '../upstream/answer-readers.js';
import { StreamOverrunError, UpstreamSessionEndedError } from '../upstream/channel-transport.js';
import { relayResponseHeaders } from '../upstream/headers.js';
import type { UpstreamTarget } from '../upstream/target.js';
import { callerContext, refuse, send, type McpDeps, type McpRequest, type OpenedSession } from './context.js';
import { discard } from './discard-body.js';
import { DrainGate } from './drain-gate.js';
import { endSession } from './fanout.js';
import { filterServerMessage } from './list-filter.js';
import { tagServerRequest } from './server-requests.js';

/** Separates the target from an upstream event id in the merged GET stream. */
const eventIdSeparator = '~';

interface Opened {
  readonly target: UpstreamTarget;
  readonly answer: StreamedAnswer;
}

export async function mergeStreams(m: McpRequest, deps: McpDeps, opened: OpenedSession): Promise<void> {
  let targets = m.targets;
  let resumeId: string | null = null;
  const lastEventId = headerValue(m.req, 'last-event-id');
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
  const ctx = callerContext(m);
  // The session's POSTs that arrive meanwhile wait until every upstream has answered this GET.
  const opening = deps.streamGate.opening(opened.header);
  const opens = await Promise.allSettled(
    targets.map(async (target): Promise<Opened> => {
      const reading = streamedAnswer(abort.signal);
      target.send(ctx, { method: 'GET', sessionId: opened.session?.upstream.get(target.name), body: null, message: null, lastEventId: resumeId }, reading.handler);
      return { target, answer: await reading.answer };
    }),
  ).finally(opening);
  const streams = chooseStreams(m, opened, opens, abort);
  if (streams === null) return;

  m.reply.headStream(200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache'], ...m.corsHeaders]);
  const gate = new DrainGate(m.reply);
  let sessionEnded = (): void => {};
  const ended = new Promise<void>((resolve) => {
    sessionEnded = resolve;
  });
  m.reply.onClose(() => sessionEnded());
  // A session that ends (its process exited) ends the stream, as a single target's does: the
  // client learns it must initialize again.
  const relayed = Promise.all(streams.map((s) => relayEvents(m, deps, gate, s.target, s.answer.body, sessionEnded)));
  await Promise.race([relayed, ended]);
  abort.abort();
  for (const s of streams) discard(s.answer.body);
  m.reply.finish();
}

/** The streams to merge; null when the client has had another answer instead. */
function chooseStreams(m: McpRequest, opened: OpenedSession, opens: ReadonlyArray<PromiseSettledResult<Opened>>, abort: AbortController): Opened[] | null {
  const fulfilled = opens.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failures = opens.flatMap((o) => (o.status === 'rejected' ? [o.reason instanceof Error ? o.reason : new Error(String(o.reason))] : []));
  const giveUp = (): null => {
    abort.abort();
    for (const s of fulfilled) discard(s.answer.body);
    return null;
  };
  if (failures.some((e) => e instanceof Refusal && e.code === 'GW_SESSION_NOT_FOUND')) {
    // One of its sessions ended: the client must initialize again (as a POST in it learns).
    endSession(m, opened, new Set());
    refuse(m, new Refusal('GW_SESSION_NOT_FOUND', 'Session not found'), null);
    return giveUp();
  }
  // A target with no session of the client's has no stream to give: left out.
  const failed = failures.find((e) => !(e instanceof Refusal && e.code === 'GW_SESSION_REQUIRED'));
  const refusal = failures.find((e) => e instanceof Refusal);
  // A target without server-initiated messages (stateless) answers 405: left out too (405 to the
  // client only when no target has a stream).
  const live = fulfilled.filter((s) => s.answer.status !== 405);
  for (const s of fulfilled) if (!live.includes(s)) discard(s.answer.body);
  const bad = live.find((s) => s.answer.status !== 200);
  if (failed !== undefined || bad !== undefined || live.length === 0) {
    giveUp();
    if (!m.reply.open) return null;
    if (failed instanceof Refusal) refuse(m, failed, null);
    else if (failed !== undefined) refuse(m, new Refusal('GW_UPSTREAM_UNAVAILABLE', 'upstream stream failed', { form: 'text' }), null);
    else {
      const shown = bad ?? fulfilled[0];
      if (shown !== undefined) {
        m.record.mcpTarget = shown.target.name;
        send(m, shown.answer.status, relayResponseHeaders(shown.answer.fields).filter(([k]) => k === 'content-type' || k === 'allow'), '');
      } else if (refusal instanceof Refusal) refuse(m, refusal, null);
    }
    return null;
  }
  return live;
}

/** One target's stream into the merged one: event ids tagged with the target, and any list (a
 * resumed stream may replay an answer) filtered and prefixed, found by its shape. */
async function relayEvents(m: McpRequest, deps: McpDeps, gate: DrainGate, target: UpstreamTarget, body: Readable, sessionEnded: () => void): Promise<void> {
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
  } catch (err) {
    if (err instanceof UpstreamSessionEndedError) sessionEnded();
    else if (err instanceof StreamOverrunError) {
      m.record.error = `GET stream closed: ${err.message}`;
      m.reply.destroy();
    }
    // otherwise one target's stream ended badly (or could not be filtered); the others go on
  }
  discard(body);
}
