// One keep-alive connection to an upstream: writes requests, reads their answers in order with a
// ResponseParser, and gives each exchange its head, body and end. It is reused only when the
// answer allows it (HTTP/1.1 without `Connection: close`, a framed body, the server's Keep-Alive
// timeout not too short) and every byte it sent was an answer to a request. Any failure — a reset,
// a close before an answer is whole, bytes nobody asked for, a timeout — destroys it and fails
// every exchange it carries. A request is never resent here, not even one whose reused connection
// turned out to be closed before any answer came (undici does not either): the server may have
// run it, and only the caller knows whether it may run twice (target-call.ts decides retries).

import type { Socket } from 'node:net';
import { namesEventStream } from '../../../protocol/media-type.js';
import type { RawHeaders } from '../answer.js';
import type { Connector } from './connect.js';
import { H1Error, closedEarly } from './errors.js';
import type { Exchange, ExchangeHolder } from './exchange.js';
import { joinRequests, largeBody } from './request-head.js';
import { ResponseParser, type ResponseSink } from './response-parser.js';

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** connected: it can carry a request */
  ready(c: Connection): void;
  /** its answers are all in and it may carry another request */
  free(c: Connection): void;
  /** an answer of this upstream was an event stream: pipelining to it stops; `unsent`: requests
   * queued behind it but not written, to go out on another connection */
  streamed(c: Connection, unsent: Exchange[]): void;
  /** an answer of this upstream was an event stream earlier */
  readonly streams: boolean;
  /** it has bytes to write: flush() it once the event loop's turn has given it all of them */
  dirty(c: Connection): void;
  /** it is gone; `connected` says whether it ever was (else `err` is why it could not);
   * `unsent`: requests it had queued but not written, to go out on another connection */
  closed(c: Connection, err: Error | null, connected: boolean, unsent: Exchange[]): void;
}

/** Requests one connection may carry at once: 1 unless its pool pipelines. */
export interface ConnectionOptions extends ConnectionTimeouts {
  readonly depth: number;
}

export interface ConnectionTimeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  /** 0: a body may stay quiet for ever (event streams) */
  readonly bodyMs: number;
  /** how long an idle connection is kept; the server's Keep-Alive timeout can only shorten it */
  readonly keepAliveMs: number;
}

/** The server's Keep-Alive timeout is trusted up to this much less, as undici does. */
const KEEP_ALIVE_MARGIN_MS = 2_000;

function headersTimeout(): H1Error {
  return new H1Error('GW_UPSTREAM_HEADERS_TIMEOUT', 'upstream headers timeout');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class Connection implements ResponseSink, ExchangeHolder {
  readonly #socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #timeouts: ConnectionOptions;
  readonly #parser: ResponseParser;
  readonly #resume: () => void;
  /** the exchanges written, oldest first: the next answer is the first one's */
  readonly #inflight: Exchange[] = [];
  /** the last of #inflight: requests of this turn of the event loop, not written yet */
  #unsent: Exchange[] = [];
  readonly #openedAt: number;
  #connected = false;
  #destroyed = false;
  /** the last answer allows reuse */
  #keepAlive = true;
  /** an answer ended during the current parse: the owner hears of it once the parse is over */
  #freed = false;
  /** the peer sent its FIN */
  #eof = false;
  #closedPromise: Promise<void> | null = null;
  /** requests it may carry at once now: 1 until an answer showed HTTP/1.1 keep-alive, then the
   * pool's depth; 1 for good after an HTTP/1.0 answer */
  #depth = 1;
  /** the answer being read is an event stream: nothing more goes behind it until it ends */
  #streaming = false;
  /** when the bytes being parsed were read (performance.now() ms): one clock read per socket
   * read, for every answer it carries */
  #readAt = 0;
  /** it is idle in the pool, its socket unref'd */
  #parked = false;
  /** when it went idle (performance.now() ms), and how long it may stay so */
  idleSince = 0;
  idleTimeoutMs: number;

  constructor(connector: Connector, owner: ConnectionOwner, timeouts: ConnectionOptions) {
    const socket = connector.open((chunk) => this.#onData(chunk));
    const readyEvent = connector.ready;
    this.#socket = socket;
    this.#owner = owner;
    this.#timeouts = timeouts;
    this.idleTimeoutMs = timeouts.keepAliveMs;
    this.#parser = new ResponseParser(this);
    this.#resume = () => this.#onResume();
    this.#openedAt = performance.now();
    socket.once(readyEvent, () => {
      if (this.#destroyed) return;
      this.#connected = true;
      this.#owner.ready(this);
    });
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => this.destroy(closedEarly(this.#inflight.length > 0 && this.#inflight[0]?.headed === true ? 'during the answer' : 'before answering')));
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Requests written and not answered in full. */
  get inflight(): number {
    return this.#inflight.length;
  }

  get reusable(): boolean {
    return !this.#destroyed && this.#keepAlive && !this.#eof;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** One request at a time from now on (what is written stays). */
  stopPipelining(): void {
    this.#depth = 1;
  }

  /** How many more requests it takes now. */
  get room(): number {
    if (!this.#connected || this.#streaming || !this.reusable) return 0;
    return this.#depth - this.#inflight.length;
  }

  /** Queues the request (`now`: performance.now() of the caller's turn); it is written with the
   * others of this turn (flush). */
  send(ex: Exchange, now: number): void {
    ex.holder = this;
    this.#inflight.push(ex);
    if (ex.request.close) this.#keepAlive = false;
    ex.sentAt = now;
    if (this.#parked) {
      this.#parked = false;
      this.#socket.ref();
    }
    if (this.#unsent.length === 0) this.#owner.dirty(this);
    this.#unsent.push(ex);
  }

  /** Writes the requests this turn queued, in one write where it can. Written at the end of the
   * turn, after the turn's reads: a close the upstream sent before then is seen first, and the
   * requests go on another connection, unsent. */
  flush(): void {
    const unsent = this.#unsent;
    if (unsent.length === 0 || this.#destroyed) return;
    this.#unsent = [];
    const socket = this.#socket;
    if (!unsent.some((ex) => largeBody(ex.request) !== null)) {
      socket.write(joinRequests(unsent));
      return;
    }
    socket.cork();
    for (const ex of unsent) {
      socket.write(joinRequests([ex]));
      const body = largeBody(ex.request);
      if (body !== null) socket.write(body);
    }
    socket.uncork();
  }

  /** Idle in the pool: it does not keep the process alive. */
  park(now: number): void {
    this.idleSince = now;
    this.#parked = true;
    this.#socket.unref();
  }

  drop(ex: Exchange, err: Error): void {
    if (this.#timeouts.depth > 1 && !this.#destroyed && this.#unsent.indexOf(ex) < 0) {
      this.#abandon(ex, err);
      return;
    }
    const unsent = this.#unsent.indexOf(ex);
    if (unsent >= 0) {
      // Not written: the connection is as it was without it.
      this.#unsent.splice(unsent, 1);
      this.#inflight.splice(this.#inflight.indexOf(ex), 1);
      ex.fail(err);
      if (this.#inflight.length === 0 && !this.#destroyed) this.#owner.free(this);
      return;
    }
    const i = this.#inflight.indexOf(ex);
    if (i >= 0) this.#inflight.splice(i, 1);
    ex.fail(err);
    // Its answer may be on its way: the connection cannot tell it from the next one.
    this.destroy(new H1Error('GW_UPSTREAM_CLOSED', 'connection closed: a request on it was aborted'));
  }

  /** A written request nobody waits for any more, on a pipelined connection: its answer is read
   * and dropped, so the answers behind it stay matched to their requests (closing the connection
   * would fail every request written behind it, which the upstream may have run). */
  #abandon(ex: Exchange, err: Error): void {
    ex.fail(err);
    // A body its reader had paused is read on (to be dropped), outside the reader's call.
    if (ex === this.#inflight[0] && this.#parser.paused) setImmediate(this.#resume);
  }

  /** The timeouts, checked by the pool about once a second. */
  check(now: number): void {
    if (this.#destroyed) return;
    if (!this.#connected) {
      if (now - this.#openedAt > this.#timeouts.connectMs) this.destroy(new H1Error('GW_UPSTREAM_CONNECT_TIMEOUT', 'upstream connect timeout'));
      return;
    }
    const ex = this.#inflight[0];
    if (ex === undefined) return;
    const headMs = this.#timeouts.headersMs;
    if (!ex.headed) {
      // Nothing came for a whole head limit since the request was written or the answer before
      // it ended: the upstream is stuck on this connection.
      const since = Math.max(ex.sentAt, ex.lastActivity);
      if (headMs > 0 && now - since > headMs) {
        this.destroy(headersTimeout());
        return;
      }
    } else if (this.#timeouts.bodyMs > 0 && !this.#parser.paused && now - ex.lastActivity > this.#timeouts.bodyMs) {
      this.destroy(new H1Error('GW_UPSTREAM_BODY_TIMEOUT', 'upstream body timeout'));
      return;
    }
    if (this.#timeouts.depth === 1 || headMs === 0) return;
    // Pipelined: each request waits at most the head limit from its write, the time behind
    // other answers included; past it, it fails alone and its answer is dropped when it comes.
    for (const queued of this.#inflight) {
      if (!queued.over && !queued.headed && queued.sentAt > 0 && now - queued.sentAt > headMs) this.#abandon(queued, headersTimeout());
    }
  }

  /** Closes it; what it sent fails with `err` (or a plain "closed" when null), what it did not
   * goes back to the owner. */
  destroy(err: Error | null): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#parser.destroy();
    this.#socket.destroy();
    const unsent = this.#unsent;
    this.#unsent = [];
    const sent = this.#inflight.splice(0, this.#inflight.length - unsent.length);
    this.#inflight.length = 0;
    const failure = err ?? new H1Error('GW_UPSTREAM_CLOSED', 'upstream connection closed');
    for (const ex of sent) ex.fail(failure);
    this.#owner.closed(this, err, this.#connected, unsent);
  }

  /** Resolves once the socket is closed. */
  closed(): Promise<void> {
    this.#closedPromise ??= this.#socket.closed ? Promise.resolve() : new Promise((resolve) => this.#socket.once('close', () => resolve()));
    return this.#closedPromise;
  }

  // --- ResponseSink: the parser's findings, for the oldest exchange in flight ---

  messageBegin(): boolean {
    return this.#inflight.length > 0;
  }

  head(status: number, headers: RawHeaders, keepAlive: boolean, hintMs: number | null): boolean {
    const ex = this.#inflight[0];
    if (ex === undefined) return false;
    if (status < 200) {
      if (!ex.over) ex.handler.onHeaders(status, headers, this.#resume);
      return true;
    }
    ex.headed = true;
    ex.lastActivity = this.#readAt;
    if (this.#timeouts.depth > 1) this.#pipelineAfter(headers, keepAlive);
    if (!keepAlive) this.#keepAlive = false;
    else if (hintMs !== null) {
      const ms = Math.min(hintMs - KEEP_ALIVE_MARGIN_MS, this.#timeouts.keepAliveMs);
      if (ms <= 0) this.#keepAlive = false;
      else this.idleTimeoutMs = ms;
    } else this.idleTimeoutMs = this.#timeouts.keepAliveMs;
    return ex.over || ex.handler.onHeaders(status, headers, this.#resume);
  }

  body(chunk: Buffer): boolean {
    const ex = this.#inflight[0];
    if (ex === undefined) return false;
    ex.lastActivity = this.#readAt;
    return ex.over || ex.handler.onData(chunk);
  }

  /** What an answer's head says about pipelining on this connection: it starts once an answer
   * showed HTTP/1.1 keep-alive, and never after an HTTP/1.0 answer. An event stream is the one
   * answer whose end the upstream may put off for long (progress, server requests, a long tool
   * call): requests already written behind it fail at once (their answers are read and dropped),
   * rather than wait for its end with nothing to tell them apart from a hung upstream; nothing
   * new goes behind it, and the pool sends no more than one request at a time on any connection
   * to this upstream after it. */
  #pipelineAfter(headers: RawHeaders, keepAlive: boolean): void {
    if (this.#parser.http10) this.#depth = 1;
    else if (keepAlive && this.#depth === 1 && !this.#owner.streams) this.#depth = this.#timeouts.depth;
    if (!isEventStream(headers)) return;
    this.#streaming = true;
    this.#depth = 1;
    const unsent = this.#unsent;
    this.#unsent = [];
    this.#inflight.length -= unsent.length;
    for (let i = 1; i < this.#inflight.length; i++) {
      const behind = this.#inflight[i];
      if (behind !== undefined && !behind.over) this.#abandon(behind, streamedAhead());
    }
    this.#owner.streamed(this, unsent);
  }

  end(): void {
    const ex = this.#inflight.shift();
    if (ex === undefined) return;
    this.#streaming = false;
    const next = this.#inflight[0];
    if (next !== undefined) next.lastActivity = this.#readAt;
    this.#freed = true;
    ex.complete();
  }

  // --- socket events ---

  #onData(chunk: Buffer): void {
    this.#readAt = performance.now();
    try {
      this.#parser.push(chunk);
    } catch (err) {
      this.destroy(asError(err));
      return;
    }
    if (this.#parser.paused) this.#socket.pause();
    this.#afterParse();
  }

  #onResume(): void {
    if (this.#destroyed || !this.#parser.paused) return;
    this.#readAt = performance.now();
    const ex = this.#inflight[0];
    if (ex !== undefined) ex.lastActivity = this.#readAt;
    let drained: boolean;
    try {
      drained = this.#parser.resume();
    } catch (err) {
      this.destroy(asError(err));
      return;
    }
    if (drained && !this.#destroyed) this.#socket.resume();
    this.#afterParse();
  }

  #onEnd(): void {
    this.#eof = true;
    this.#readAt = performance.now();
    try {
      this.#parser.finish();
    } catch (err) {
      this.destroy(asError(err));
      return;
    }
    this.#afterParse();
  }

  /** After a parse: a connection that ended is closed (failing what it still carries), one
   * whose answers are in goes back to its pool, or is closed when it cannot be reused. */
  #afterParse(): void {
    if (this.#destroyed) return;
    if (this.#eof && !this.#parser.paused) {
      this.destroy(this.#inflight.length === 0 ? null : closedEarly('before answering'));
      return;
    }
    if (!this.#freed) return;
    this.#freed = false;
    if (!this.#keepAlive) {
      // The upstream closes after this answer: requests behind it get no answer here.
      this.destroy(this.#inflight.length === 0 ? null : closedEarly('before answering (it closed after an earlier answer)'));
      return;
    }
    if (this.#inflight.length === 0 || this.#depth > 1) this.#owner.free(this);
  }
}

/** The answer is an event stream: one of its Content-Type fields names one (namesEventStream;
 * the same reading as the relay's, headers.ts isEventStreamAnswer, over the raw fields). */
function isEventStream(headers: RawHeaders): boolean {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i];
    if (name !== undefined && name.length === 12 && name.toString().toLowerCase() === 'content-type' && namesEventStream(String(headers[i + 1]))) return true;
  }
  return false;
}

function streamedAhead(): H1Error {
  return new H1Error('GW_UPSTREAM_STREAMED_AHEAD', 'upstream answered an earlier request on this pipelined connection with an event stream');
}
