// The deprecated HTTP+SSE transport (2024-11-05) for clients, as agentgateway serves it at
// `/sse`: `GET /sse` opens an event stream whose first event names where to POST
// (`/sse?sessionId=<id>`); each POST is answered 202, and its answer arrives on the stream as
// `event: message`. Each POST runs through the same relay as a Streamable HTTP POST, carrying
// the session's sealed id; what the relay would have answered is turned into stream events.

import { randomUUID } from 'node:crypto';
import { JsonRpcError, errorMessage, type JsonRpcId } from '../../protocol/jsonrpc.js';
import { SseSplitter, maxEventChars, type SseEvent } from '../../protocol/sse.js';
import type { HeaderList, ResponseSink } from '../http/reply.js';
import type { RequestSnapshot } from '../http/request.js';
import { isEventStreamAnswer } from '../upstream/headers.js';
import type { InflightCount, McpRequest } from './context.js';
import { sessionOwner } from './session-id.js';

export interface LegacySession {
  readonly id: string;
  readonly principal: string;
  readonly stream: ResponseSink;
  /** the gateway's sealed Streamable HTTP session id, once initialize has answered */
  sealed: string | undefined;
  /** POSTs admitted and not yet answered (see admitPost) */
  postsInFlight: number;
}

/** Each POST is answered 202 at once and relayed in the background, holding its body until the
 * upstream answers: without a bound, one client piles up work and memory without limit. */
export const maxPostsInFlight = 32;

/** A place for one more POST on the session, or null when it has maxPostsInFlight already;
 * the returned function gives the place back (once, however often it is called). */
export function admitPost(session: LegacySession): (() => void) | null {
  if (session.postsInFlight >= maxPostsInFlight) return null;
  session.postsInFlight++;
  return once(() => session.postsInFlight--);
}

/** `release` made safe to call any number of times: it runs on the first call only. */
function once(release: () => void): () => void {
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    release();
  };
}

/** Counts background work among the gateway's in-flight requests, so that a graceful close waits
 * for it as for any request, until the returned function is called (once is enough). */
export function holdInflight(inflight: InflightCount): () => void {
  inflight.count++;
  return once(() => {
    inflight.count--;
    if (inflight.count === 0) inflight.onIdle?.();
  });
}

/** The GET's own query (a token in `?access_token=` say, which the POSTs need as much), with
 * this session's id in place of any the client sent; as agentgateway does. */
function endpointQuery(query: string, sessionId: string): string {
  const kept = query.split('&').filter((part) => part !== '' && !/^sessionId(?:=|$)/.test(part));
  return [...kept, `sessionId=${sessionId}`].join('&');
}

export class LegacySessions {
  readonly #byId = new Map<string, LegacySession>();

  /** GET /sse: opens the stream and announces the POST endpoint. */
  open(m: McpRequest): void {
    const session: LegacySession = { id: randomUUID(), principal: sessionOwner(m.claims, m.route.sessionScope), stream: m.reply, sealed: undefined, postsInFlight: 0 };
    this.#byId.set(session.id, session);
    m.reply.onClose(() => this.#byId.delete(session.id));
    m.reply.head(200, [['content-type', 'text/event-stream'], ['cache-control', 'no-cache'], ...m.corsHeaders]);
    m.reply.write(`event: endpoint\ndata: ${m.req.path}?${endpointQuery(m.req.query, session.id)}\n\n`);
  }

  /** The session a POST names, if it exists here and belongs to this caller. */
  find(id: string, principal: string): LegacySession | undefined {
    const s = this.#byId.get(id);
    return s !== undefined && s.principal === principal && s.stream.open ? s : undefined;
  }
}

type Headers = ReadonlyArray<readonly [string, string]>;

/** Headers of a Streamable HTTP POST in the session, from the legacy POST's. */
export function streamableHeaders(headers: Headers, session: LegacySession): Headers {
  const out = headers.filter(([k]) => k !== 'mcp-session-id' && k !== 'accept');
  out.push(['accept', 'application/json, text/event-stream']);
  if (session.sealed !== undefined) out.push(['mcp-session-id', session.sealed]);
  return out;
}

/** The POST's request as the relay should see it: a Streamable HTTP POST in the session. */
export function asStreamablePost(req: RequestSnapshot, session: LegacySession): RequestSnapshot {
  return { ...req, headers: streamableHeaders(req.headers, session) };
}

function emit(session: LegacySession, data: string): void {
  session.stream.write(`event: message\ndata: ${data.replace(/\r?\n/g, ' ')}\n\n`);
}

/** Receives the relay's answer to one POST and puts it on the session's stream. */
export class LegacyAnswerSink implements ResponseSink {
  readonly #session: LegacySession;
  readonly #id: JsonRpcId | null;
  #open = true;
  #started = false;
  #status = 0;
  #eventStream = false;
  #json = '';
  #emitted = false;
  #closers: Array<(aborted: boolean) => void> = [];
  /** takes this sink's listener off the session's stream, which outlives it (a no-op until
   * set: a stream already closed runs the listener at once, from the constructor) */
  #unsubscribe: () => void = () => {};
  readonly #splitter = new SseSplitter();
  readonly #decoder = new TextDecoder();

  constructor(session: LegacySession, id: JsonRpcId | null) {
    this.#session = session;
    this.#id = id;
    this.#unsubscribe = session.stream.onClose(() => this.#close(true));
  }

  get open(): boolean {
    return this.#open && this.#session.stream.open;
  }

  get headSent(): boolean {
    return this.#started;
  }

  onClose(cb: (aborted: boolean) => void): () => void {
    if (!this.#open) {
      cb(false);
      return () => {};
    }
    this.#closers.push(cb);
    return () => {
      const i = this.#closers.indexOf(cb);
      if (i >= 0) this.#closers.splice(i, 1);
    };
  }

  #close(aborted: boolean): void {
    if (!this.#open) return;
    this.#open = false;
    this.#unsubscribe();
    for (const cb of this.#closers.splice(0)) cb(aborted);
  }

  #takeHead(status: number, headers: HeaderList): void {
    this.#started = true;
    this.#status = status;
    for (const [k, v] of headers) if (k === 'mcp-session-id') this.#session.sealed = v;
    this.#eventStream = isEventStreamAnswer(headers);
  }

  #deliver(text: string): void {
    if (text.trim() === '') return;
    if (this.#status >= 400 && !text.trimStart().startsWith('{')) {
      // A plain-text refusal: the client only understands JSON-RPC on this transport.
      if (this.#id !== null) emit(this.#session, errorMessage(this.#id, JsonRpcError.internalError, text));
    } else emit(this.#session, text);
    this.#emitted = true;
  }

  send(status: number, headers: HeaderList, body: string | Uint8Array = ''): void {
    if (!this.open) return;
    this.#takeHead(status, headers);
    if (this.#eventStream) {
      // A whole event stream (an answer that arrived at once): its events, one by one.
      this.write(body);
      this.finish();
      return;
    }
    this.#deliver(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    this.#close(false);
  }

  head(status: number, headers: HeaderList): void {
    this.#takeHead(status, headers);
  }

  headStream(status: number, headers: HeaderList): void {
    this.#takeHead(status, headers);
  }

  start(status: number, headers: HeaderList, chunk: string | Uint8Array): boolean {
    this.#takeHead(status, headers);
    return this.write(chunk);
  }

  write(chunk: string | Uint8Array): boolean {
    if (!this.open) return true;
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (!this.#eventStream) {
      this.#json += text;
      // One message, delivered whole at the end: held no longer than an event may be.
      if (this.#json.length > maxEventChars) this.destroy();
      return true;
    }
    let events: SseEvent[];
    try {
      events = this.#splitter.push(text);
    } catch {
      this.destroy(); // an event too long to hold: the client gets an error in its place
      return true;
    }
    for (const event of events) {
      if (event.data !== null && event.data !== '') this.#deliver(event.data);
    }
    return true;
  }

  onDrain(cb: () => void): void {
    cb();
  }

  finish(): void {
    if (!this.#eventStream) this.#deliver(this.#json);
    this.#close(false);
  }

  destroy(): void {
    if (!this.#emitted && this.#id !== null && this.open) {
      emit(this.#session, errorMessage(this.#id, JsonRpcError.internalError, 'the upstream answer broke off'));
    }
    this.#close(true);
  }
}
