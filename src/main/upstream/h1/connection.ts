// One keep-alive connection to an upstream: writes requests, reads their answers in order with a
// ResponseParser, and gives each exchange its head, body and end. It is reused only when the
// answer allows it (HTTP/1.1 without `Connection: close`, a framed body, the server's Keep-Alive
// timeout not too short) and every byte it sent was an answer to a request. Any failure — a reset,
// a close before an answer is whole, bytes nobody asked for, a timeout — destroys it and fails
// every exchange it carries. A request is never resent here, not even one whose reused connection
// turned out to be closed before any answer came (undici does not either): the server may have
// run it, and only the caller knows whether it may run twice (target-call.ts decides retries).

import type { Socket } from 'node:net';
import type { RawHeaders } from '../answer.js';
import { H1Error, closedEarly } from './errors.js';
import type { Exchange, ExchangeHolder } from './exchange.js';
import { ResponseParser, type ResponseSink } from './response-parser.js';

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** connected: it can carry a request */
  ready(c: Connection): void;
  /** its answers are all in and it may carry another request */
  free(c: Connection): void;
  /** it has bytes to write: flush() it once the event loop's turn has given it all of them */
  dirty(c: Connection): void;
  /** it is gone; `connected` says whether it ever was (else `err` is why it could not);
   * `unsent`: requests it had queued but not written, to go out on another connection */
  closed(c: Connection, err: Error | null, connected: boolean, unsent: Exchange[]): void;
}

export interface ConnectionTimeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  /** 0: a body may stay quiet for ever (event streams) */
  readonly bodyMs: number;
  /** how long an idle connection is kept when the server gives no Keep-Alive timeout */
  readonly keepAliveMs: number;
}

/** The server's Keep-Alive timeout is trusted up to this much less, as undici does. */
const KEEP_ALIVE_MARGIN_MS = 2_000;
const KEEP_ALIVE_MAX_MS = 600_000;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class Connection implements ResponseSink, ExchangeHolder {
  readonly #socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #timeouts: ConnectionTimeouts;
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
  /** when it went idle (performance.now() ms), and how long it may stay so */
  idleSince = 0;
  idleTimeoutMs: number;

  constructor(socket: Socket, readyEvent: string, owner: ConnectionOwner, timeouts: ConnectionTimeouts) {
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
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
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

  /** Queues the request; it is written with the others of this turn (flush). */
  send(ex: Exchange): void {
    ex.holder = this;
    this.#inflight.push(ex);
    if (ex.request.close) this.#keepAlive = false;
    ex.sentAt = performance.now();
    this.#socket.ref();
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
    const only = unsent.length === 1 ? unsent[0] : undefined;
    if (only !== undefined && only.request.body === null) {
      socket.write(only.request.bytes);
      return;
    }
    socket.cork();
    for (const ex of unsent) {
      socket.write(ex.request.bytes);
      if (ex.request.body !== null) socket.write(ex.request.body);
    }
    socket.uncork();
  }

  /** Idle in the pool: it does not keep the process alive. */
  park(now: number): void {
    this.idleSince = now;
    this.#socket.unref();
  }

  drop(ex: Exchange, err: Error): void {
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

  /** The timeouts, checked by the pool about once a second. */
  check(now: number): void {
    if (this.#destroyed) return;
    if (!this.#connected) {
      if (now - this.#openedAt > this.#timeouts.connectMs) this.destroy(new H1Error('GW_UPSTREAM_CONNECT_TIMEOUT', 'upstream connect timeout'));
      return;
    }
    const ex = this.#inflight[0];
    if (ex === undefined) return;
    if (!ex.headed) {
      // Behind a pipelined request, the wait counts from when that one's answer ended.
      const since = Math.max(ex.sentAt, ex.lastActivity);
      if (now - since > this.#timeouts.headersMs) this.destroy(new H1Error('GW_UPSTREAM_HEADERS_TIMEOUT', 'upstream headers timeout'));
    } else if (this.#timeouts.bodyMs > 0 && !this.#parser.paused && now - ex.lastActivity > this.#timeouts.bodyMs) {
      this.destroy(new H1Error('GW_UPSTREAM_BODY_TIMEOUT', 'upstream body timeout'));
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
      ex.handler.onHeaders(status, headers, this.#resume);
      return true;
    }
    ex.headed = true;
    ex.lastActivity = performance.now();
    if (!keepAlive) this.#keepAlive = false;
    else if (hintMs !== null) {
      const ms = Math.min(hintMs - KEEP_ALIVE_MARGIN_MS, KEEP_ALIVE_MAX_MS);
      if (ms <= 0) this.#keepAlive = false;
      else this.idleTimeoutMs = ms;
    } else this.idleTimeoutMs = this.#timeouts.keepAliveMs;
    return ex.handler.onHeaders(status, headers, this.#resume);
  }

  body(chunk: Buffer): boolean {
    const ex = this.#inflight[0];
    if (ex === undefined) return false;
    ex.lastActivity = performance.now();
    return ex.handler.onData(chunk);
  }

  end(): void {
    const ex = this.#inflight.shift();
    if (ex === undefined) return;
    const next = this.#inflight[0];
    if (next !== undefined) next.lastActivity = performance.now();
    this.#freed = true;
    ex.complete();
  }

  // --- socket events ---

  #onData(chunk: Buffer): void {
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
    const ex = this.#inflight[0];
    if (ex !== undefined) ex.lastActivity = performance.now();
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
    if (this.#inflight.length === 0) this.#owner.free(this);
  }
}
