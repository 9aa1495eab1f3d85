// A message channel (stdio process, legacy HTTP+SSE server) as a transport: it answers the way a
// Streamable HTTP server would. `initialize` opens a local session (its id comes back as
// `mcp-session-id`), a request gets its JSON answer, a notification 202, GET the session's own
// messages as an event stream, DELETE ends the session. So the relay reads channel answers as it
// reads HTTP ones; what is particular to channels stays here.

import { formatEvent } from '../../protocol/sse.js';
import { stampMeta } from '../../protocol/trace-meta.js';
import type { BackendTlsPolicy } from '../config/types.js';
import { tlsDispatcher } from '../http/tls-client.js';
import { errorText, GatewayError } from '../../protocol/errors.js';
import { Refusal } from '../refusals.js';
import { answerWith, type AnswerHandler, type RawHeaders } from './answer.js';
import { ChannelLimitError, type ChannelHub } from './channels/channel-hub.js';
import type { ChannelSession } from './channels/channel-session.js';
import type { ChannelSpec } from './channels/channel.js';
import type { Transport, TransportRequest } from './transport.js';

/** What a GET stream may have pending of a session's messages (handed over while its reader is
 * paused: queued for the filter, or the client not keeping up) before it is closed. The session's
 * process or connection also carries the answers to its POSTs, so it is not paused for one slow
 * reader: the reader is let go instead. */
export const maxPendingStreamBytes = 16 * 1024 * 1024;

/** A GET stream closed because its client fell too far behind. */
export class StreamOverrunError extends GatewayError {
  constructor(target: string) {
    super('GW_STREAM_OVERRUN', `the client fell more than ${maxPendingStreamBytes / 1024 / 1024} MiB behind ${target}'s messages`);
  }
}

/** The upstream session a stream belonged to is over (its process exited): the stream ends, and
 * the client learns it must initialize again. */
export class UpstreamSessionEndedError extends GatewayError {
  constructor(reason: string) {
    super('GW_UPSTREAM_SESSION_ENDED', `upstream session ended: ${reason}`);
  }
}

const json = 'application/json';

function sessionNotFound(): Refusal {
  return new Refusal('GW_SESSION_NOT_FOUND', 'Session not found');
}

/** A legacy SSE target's channel, connecting as its backendTLS says. */
export function sseChannelSpec(url: string, tls: BackendTlsPolicy | null): ChannelSpec {
  const dispatcher = tlsDispatcher(tls);
  return dispatcher === undefined ? { kind: 'sse', url: new URL(url) } : { kind: 'sse', url: new URL(url), dispatcher };
}

export class ChannelTransport implements Transport {
  readonly key: string;
  readonly #name: string;
  readonly #spec: ChannelSpec;
  readonly #hub: ChannelHub;

  constructor(name: string, spec: ChannelSpec, hub: ChannelHub) {
    this.#name = name;
    this.#spec = spec;
    this.#hub = hub;
    this.key = spec.kind === 'stdio' ? `stdio:${spec.cmd} ${spec.args.join(' ')}` : spec.url.href;
  }

  send(req: TransportRequest, answer: AnswerHandler): void {
    if (req.method === 'POST') void this.#post(req, answer);
    else if (req.method === 'GET') this.#stream(req, answer);
    else {
      if (req.sessionId !== undefined) this.#hub.end(req.sessionId);
      answerWith(answer, 202, [], '');
    }
  }

  async #post(req: TransportRequest, answer: AnswerHandler): Promise<void> {
    const abort = new AbortController();
    answer.onConnect((err) => abort.abort(err));
    let session: ChannelSession;
    try {
      session = await this.#session(req);
    } catch (err) {
      // No session to relay to (the process did not start, the server's endpoint is unusable):
      // the client's request is what could not be served.
      answer.onError(this.#failure(400, err));
      return;
    }
    const headers: RawHeaders = ['mcp-session-id', session.id];
    const message = req.message;
    const text = withTraceContext(req.body?.toString('utf8') ?? '', req);
    if (message === null || message.kind !== 'request') {
      if (session.notify(text)) answerWith(answer, 202, headers, '');
      else answer.onError(this.#failure(400, new Error('upstream channel is closed')));
      return;
    }
    try {
      const out = await session.request(message.id, text, abort.signal);
      answerWith(answer, 200, ['content-type', json, ...headers], out);
    } catch (err) {
      answer.onError(abort.signal.aborted ? abortReason(abort.signal) : this.#failure(502, err));
    }
  }

  /** What the client is told of a channel's failure: it names the target and the reason, which
   * is the gateway's own (a process that exited, a line too long), never an upstream's text. */
  #failure(status: number, err: unknown): Refusal {
    if (err instanceof Refusal) return err;
    return new Refusal('GW_CHANNEL_FAILED', `upstream ${this.#name}: ${errorText(err)}`, { status });
  }

  /** The request's session: named by its id, or opened by an initialize. */
  async #session(req: TransportRequest): Promise<ChannelSession> {
    if (req.sessionId !== undefined) {
      const known = this.#hub.get(req.sessionId);
      if (known === undefined) throw sessionNotFound();
      return known;
    }
    const m = req.message;
    if (m === null || m.kind !== 'request' || m.method !== 'initialize') {
      throw new Refusal('GW_SESSION_REQUIRED', `${this.#name} needs a session: send initialize first`);
    }
    try {
      return await this.#hub.open(this.#spec, req.headers, req.owner());
    } catch (err) {
      // A limit: the caller may retry later.
      if (err instanceof ChannelLimitError) throw new Refusal('GW_SESSION_LIMIT', `upstream ${this.#name}: ${err.message}`, { headers: [['retry-after', '5']] });
      throw err;
    }
  }

  /** GET: the session's own messages as an event stream, until either side leaves. */
  #stream(req: TransportRequest, answer: AnswerHandler): void {
    const session = req.sessionId === undefined ? undefined : this.#hub.get(req.sessionId);
    if (session === undefined) {
      answer.onConnect(() => {});
      answer.onError(req.sessionId === undefined ? new Refusal('GW_SESSION_REQUIRED', 'Mcp-Session-Id required', { rpcCode: -32001 }) : sessionNotFound());
      return;
    }
    new ChannelStream(this.#name, session, answer).start();
  }
}

/** The trace context the request's header fields carry, copied into the message's `_meta`
 * (SEP-414): a channel has no header fields per message. */
function withTraceContext(text: string, req: TransportRequest): string {
  const traceparent = req.headers['traceparent'];
  const m = req.message;
  if (traceparent === undefined || m === null || (m.kind !== 'request' && m.kind !== 'notification')) return text;
  const entries: Array<readonly [string, string]> = [['traceparent', traceparent]];
  for (const name of ['tracestate', 'baggage']) {
    const value = req.headers[name];
    if (value !== undefined) entries.push([name, value]);
  }
  return stampMeta(text, entries) ?? text;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('client went away');
}

/** One session's messages to one reader, honouring its pauses up to maxPendingStreamBytes. */
class ChannelStream {
  readonly #target: string;
  readonly #session: ChannelSession;
  readonly #answer: AnswerHandler;
  #paused = false;
  #queue: Buffer[] = [];
  #queued = 0;
  #over = false;
  #unsubscribe: () => void = () => {};

  constructor(target: string, session: ChannelSession, answer: AnswerHandler) {
    this.#target = target;
    this.#session = session;
    this.#answer = answer;
  }

  start(): void {
    this.#answer.onConnect((err) => this.#end(err));
    if (this.#over) return;
    this.#paused = !this.#answer.onHeaders(200, ['content-type', 'text/event-stream', 'cache-control', 'no-cache'], () => this.#resume());
    this.#unsubscribe = this.#session.subscribe(
      (text) => this.#message(text),
      () => this.#end(new UpstreamSessionEndedError('its process or connection closed')),
    );
    if (this.#over) this.#unsubscribe();
  }

  #message(text: string): void {
    if (this.#over) return;
    const event = Buffer.from(formatEvent(text));
    if (!this.#paused) {
      this.#paused = !this.#answer.onData(event);
      return;
    }
    // A message larger than the bound still goes to a reader that has nothing pending.
    if (this.#queued > 0 && this.#queued + event.byteLength > maxPendingStreamBytes) {
      this.#end(new StreamOverrunError(this.#target));
      return;
    }
    this.#queue.push(event);
    this.#queued += event.byteLength;
  }

  #resume(): void {
    this.#paused = false;
    while (!this.#paused && !this.#over && this.#queue.length > 0) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      this.#queued -= next.byteLength;
      this.#paused = !this.#answer.onData(next);
    }
  }

  #end(err: Error): void {
    if (this.#over) return;
    this.#over = true;
    this.#queue = [];
    this.#unsubscribe();
    this.#answer.onError(err);
  }
}
