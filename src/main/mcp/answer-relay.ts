// An upstream's answer to the client: the handler a target's transport drives (for HTTP, undici's
// own dispatch handler, with no body stream, async iterator or AbortController per request in
// between). The answer leaves in as few uWS writes as possible: a body that arrives whole goes
// out as one corked status+headers+body, and so does an event stream that has ended within one
// turn of the event loop (most answers to a POST); longer streams are relayed chunk by chunk with
// back-pressure both ways. List results that policy must see are buffered (JSON) or rewritten
// event by event (SSE), everything else in them untouched.

import { TextDecoder } from 'node:util';
import { SseSplitter, parseEventBlock, type SseEvent } from '../../protocol/sse.js';
import { BufferBudgetError, type ByteAccount } from '../http/byte-budget.js';
import type { HeaderList, ResponseSink } from '../http/reply.js';
import type { AnswerHandler, RawHeaders } from '../upstream/answer.js';
import { UpstreamSessionEndedError } from '../upstream/channel-transport.js';
import { isEventStreamAnswer, rawFields } from '../upstream/headers.js';
import { GatewayError } from '../../protocol/errors.js';
import { then, type Maybe } from '../maybe-async.js';

/** How the answer must be handled, decided once its headers are known. */
export type AnswerMode =
  /** relay as it comes (whole bodies in one write, streams chunk by chunk) */
  | { readonly kind: 'relay' }
  /** collect the whole body, then hand it to `finish` (JSON list results; a value when nothing waits) */
  | { readonly kind: 'collect'; readonly finish: (body: Buffer) => Maybe<Collected> }
  /** rewrite some events of an event stream; `rewrite` returns null to keep an event */
  | { readonly kind: 'events'; readonly rewrite: (event: SseEvent) => Promise<string | null> }
  /** refuse the answer (e.g. compressed when it must be filtered) */
  | { readonly kind: 'refuse'; readonly reason: string };

/** What a collected answer becomes: its body rewritten (null: as it came), and, when set, other
 * header fields in place of those onHead gave. */
export interface Collected {
  readonly body: string | Uint8Array | null;
  readonly headers?: HeaderList;
}

export interface AnswerRelayOptions {
  readonly reply: ResponseSink;
  /** The request's account with the gateway-wide buffer budget: the answer's bytes held whole
   * count there until they are sent. */
  readonly held: ByteAccount;
  /** Response headers to send and how to treat the body. */
  readonly onHead: (status: number, headers: HeaderList) => { readonly headers: HeaderList; readonly mode: AnswerMode };
  /** The upstream could not be reached, broke before answering, or the request was refused
   * before it was sent (an UpstreamFailure): nothing was sent to the client yet. */
  readonly onFailure: (err: Error) => void;
  /** The answer broke off after its head was sent (the response is then cut short). */
  readonly onBroken?: (err: Error) => void;
  /** Filtering the answer failed (an overloaded pool, a worker gone) before anything was sent:
   * answer the client. Once the head is out the response can only be broken off. */
  readonly onFilterFailure: (err: unknown) => void;
  /** Called once, when the client's response is complete or abandoned, as `done` resolves;
   * `sentHead`: whether the answer's own head went to the client. Runs inside the transport's
   * callbacks, so it must not throw. */
  readonly onDone?: (sentHead: boolean) => void;
}

/** A body up to this size is sent in one write when it arrives whole (no content-length needed). */
const wholeBodyLimit = 1024 * 1024;

/** An answer that must be held whole to be filtered (a JSON body) may be this large; a larger
 * one is refused rather than held: an upstream must not take the gateway's memory with it. */
export const maxCollectBytes = 64 * 1024 * 1024;

export class AnswerTooLargeError extends GatewayError {
  constructor() {
    super('GW_ANSWER_TOO_LARGE', `the upstream answer is larger than ${maxCollectBytes} bytes, too large to filter`);
  }
}

/** Every answer starts as relayed, until its head says otherwise. */
const relayMode: AnswerMode = { kind: 'relay' };

export interface AnswerRelay {
  /** what the target's transport drives */
  readonly handler: AnswerHandler;
  /** resolves when the client's response is complete (or abandoned) */
  readonly done: Promise<void>;
}

/** The handler relaying one answer to the client, and when it is done. */
export function answerRelay(call: AnswerRelayOptions): AnswerRelay {
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const handler = new RelayHandler(call, resolveDone);
  return { handler, done };
}

/**
 * One answer on its way: held while it may still arrive whole within one turn of the event loop
 * (then it leaves in one write), streamed from then on with back-pressure both ways, collected
 * or rewritten event by event where policy must see it.
 */
class RelayHandler implements AnswerHandler {
  readonly #call: AnswerRelayOptions;
  readonly #reply: ResponseSink;
  readonly #resolve: () => void;
  /** the transport's abort for this request, once it has been queued */
  #abortRequest: ((err: Error) => void) | null = null;
  #abortSent = false;
  /** the transport reads on when this is called after a chunk was refused (paused) */
  #resumeRead: (() => void) | null = null;
  #paused = false;
  #status = 0;
  #headers: HeaderList = [];
  #mode: AnswerMode = relayMode;
  #streaming = false;
  /** whether the answer's own head (its status and header fields, as onHead gave them) went to
   * the client: an error in its place (a failure, a refusal) does not count */
  headSent = false;
  #chunks: Buffer[] = [];
  #size = 0;
  #done = false;
  /** the upstream's answer has fully arrived */
  #ended = false;
  /** Event rewriting is asynchronous (the filter may run on a worker): chunks are handled in
   * order. Made when first needed: an answer held whole and ended at once never queues. */
  #queued: Promise<void> | null = null;
  #splitter: SseSplitter | null = null;
  #decoder: TextDecoder | null = null;
  /** bytes of the answer counted against the budget (held in `chunks` or being filtered) */
  #counted = 0;

  constructor(call: AnswerRelayOptions, resolve: () => void) {
    this.#call = call;
    this.#reply = call.reply;
    this.#resolve = resolve;
    this.#reply.onClose((aborted) => {
      if (aborted) {
        this.#abort(new Error('client went away'));
        this.#finish();
      }
    });
  }

  get paused(): boolean {
    return this.#paused;
  }

  onConnect(abortFn: (err: Error) => void): void {
    this.#abortRequest = abortFn;
    if (!this.#reply.open) this.#abort(new Error('client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resumeFn: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: wait for the real answer
    this.#resumeRead = resumeFn;
    this.#status = statusCode;
    const head = this.#call.onHead(statusCode, rawFields(rawHeaders));
    this.#headers = head.headers;
    this.#mode = head.mode;
    if (head.mode.kind === 'refuse') {
      this.#abort(new Error(head.mode.reason));
      return false;
    }
    if (head.mode.kind === 'events') {
      this.#splitter = new SseSplitter();
      this.#decoder = new TextDecoder();
      setImmediate(() => this.#startStream());
    } else if (head.mode.kind === 'relay' && isEventStreamAnswer(head.headers)) setImmediate(() => this.#startStream());
    return !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    if (!this.#reply.open || this.#done) return !this.#paused;
    if (this.#streaming) {
      if (this.#mode.kind === 'events') this.#rewriteChunk(chunk);
      else this.#write(chunk);
      return !this.#paused;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    const held = this.#call.held;
    const within = held.take(chunk.byteLength);
    if (within) this.#counted += chunk.byteLength;
    if (this.#mode.kind === 'collect') {
      if (this.#size > maxCollectBytes) this.#fail(new AnswerTooLargeError());
      // An answer to be filtered must be held whole: without room for it, it is refused.
      else if (!within) this.#fail(new BufferBudgetError(held.limit));
    } else if (this.#size > wholeBodyLimit || !within) this.#startStream(); // no room to hold it: relay it as it comes
    return !this.#paused;
  }

  onComplete(): void {
    this.#ended = true;
    if (this.#mode.kind === 'relay') {
      // Nothing is queued on a relayed answer: end it now, without a promise.
      try {
        if (this.#reply.open) {
          if (this.#streaming) this.#reply.finish();
          else this.#send(this.#collected() ?? Buffer.alloc(0));
        }
        this.#finish();
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    const mode = this.#mode;
    if (mode.kind === 'collect') {
      // Held whole and never streamed: nothing else is queued, and a finish that has its answer
      // at hand (not a list, a list remembered) ends it now.
      try {
        const ended = this.#endCollected(mode);
        if (ended instanceof Promise) ended.then(() => this.#finish(), (err: unknown) => this.#fail(err));
        else this.#finish();
      } catch (err) {
        this.#fail(err);
      }
      return;
    }
    this.#queued = (this.#queued ?? Promise.resolve()).then(() => (this.#streaming ? this.#endStream() : this.#endWhole())).then(
      () => this.#finish(),
      (err: unknown) => this.#fail(err),
    );
  }

  onError(err: Error): void {
    if (this.#done) return; // the client has had its answer (fail) or left
    const mode = this.#mode;
    if (mode.kind === 'refuse') this.#call.onFailure(new Error(mode.reason));
    else if (this.#status === 0 && this.#reply.open) this.#call.onFailure(err);
    else if (err instanceof UpstreamSessionEndedError) {
      // The upstream session is over: its stream ends as streams end, and the client learns
      // it must initialize again.
      this.onComplete();
      return;
    } else {
      this.#call.onBroken?.(err);
      this.#reply.destroy();
    }
    this.#finish();
  }

  #abort(err: Error): void {
    if (this.#abortRequest === null || this.#abortSent) return;
    this.#abortSent = true;
    this.#abortRequest(err);
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resumeRead?.();
  }

  #giveBack(): void {
    this.#call.held.give(this.#counted);
    this.#counted = 0;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#giveBack();
    this.#resolve();
    this.#call.onDone?.(this.headSent);
  }

  /** A filter that fails must not let the unfiltered answer through: an error in its place, or,
   * once the head is out, the response broken off. The client is answered before the upstream
   * call is aborted: aborting reports an error at once. */
  #fail(err: unknown): void {
    if (this.#reply.open && !this.#reply.headSent) this.#call.onFilterFailure(err);
    else this.#reply.destroy();
    this.#finish();
    this.#abort(err instanceof Error ? err : new Error(String(err)));
  }

  #collected(): Buffer | null {
    const chunks = this.#chunks;
    const all = chunks.length === 0 ? null : chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, this.#size);
    this.#chunks = [];
    return all;
  }

  #pauseUntilDrained(): void {
    this.#paused = true;
    this.#reply.onDrain(() => this.#resume());
  }

  #write(chunk: Buffer | string): void {
    if (!this.#reply.write(chunk)) this.#pauseUntilDrained();
  }

  /** The events of `text` (complete ones; with `end`, the rest too), each rewritten or as it came. */
  async #rewriteEvents(text: string, end: boolean): Promise<string> {
    const mode = this.#mode;
    const splitter = this.#splitter;
    if (mode.kind !== 'events' || splitter === null) return '';
    const events = splitter.push(text);
    if (end) {
      // An unterminated last event: a lenient client parser may still dispatch it, so it goes
      // through the filter like any other.
      const rest = splitter.rest();
      if (rest.trim() !== '') events.push(parseEventBlock(rest));
    }
    let out = '';
    for (const event of events) {
      const replaced = event.data === null ? null : await mode.rewrite(event);
      out += replaced ?? `${event.lines.join('\n')}\n\n`;
    }
    return out;
  }

  #rewriteChunk(chunk: Buffer): void {
    // The transport hands over an empty chunk when resumed with nothing buffered: pausing and
    // resuming for it again would spin the event loop forever.
    const decoder = this.#decoder;
    if (decoder === null || chunk.byteLength === 0) return;
    this.#paused = true;
    const text = decoder.decode(chunk, { stream: true });
    this.#queued = (this.#queued ?? Promise.resolve())
      .then(() => this.#rewriteEvents(text, false))
      .then((out) => {
        // Read on only once the client takes more: a client that does not read must not have
        // the whole stream held for it.
        if (out !== '' && this.#reply.open && !this.#reply.write(out)) this.#reply.onDrain(() => this.#resume());
        else this.#resume();
      }, (err: unknown) => this.#fail(err));
  }

  /** An answer still arriving after one turn of the event loop is streamed from then on; one
   * that has ended by then (most answers to a POST) leaves in one write, even if filtering it
   * takes longer than this turn (a worker): nothing is left to stream. */
  #startStream(): void {
    const reply = this.#reply;
    if (this.#streaming || this.#ended || this.#done || !reply.open) return;
    this.#streaming = true;
    const first = this.#collected();
    // From here on the answer is relayed as it comes, not held.
    this.#giveBack();
    this.headSent = true;
    if (this.#mode.kind === 'events') {
      reply.headStream(this.#status, this.#headers);
      if (first !== null) this.#rewriteChunk(first);
    } else if (first !== null) {
      // Status, headers and what has arrived so far in one corked write.
      if (!reply.start(this.#status, this.#headers, first)) this.#pauseUntilDrained();
    } else if (isEventStreamAnswer(this.#headers)) reply.headStream(this.#status, this.#headers);
    else reply.head(this.#status, this.#headers);
  }

  #send(body: string | Uint8Array): void {
    this.headSent = true;
    this.#reply.send(this.#status, this.#headers, body);
  }

  /** A collected answer, through `finish`, to the client. */
  #endCollected(mode: Extract<AnswerMode, { kind: 'collect' }>): Maybe<void> {
    if (!this.#reply.open) return;
    const body = this.#collected() ?? Buffer.alloc(0);
    return then(mode.finish(body), (rewritten) => {
      if (rewritten.headers !== undefined) this.#headers = rewritten.headers;
      this.#send(rewritten.body ?? body);
    });
  }

  async #endWhole(): Promise<void> {
    if (!this.#reply.open) return;
    const body = this.#collected() ?? Buffer.alloc(0);
    const mode = this.#mode;
    if (mode.kind === 'events') {
      const out = await this.#rewriteEvents((this.#decoder ?? new TextDecoder()).decode(body), true);
      if (this.#reply.open) this.#send(out);
    } else this.#send(body);
  }

  async #endStream(): Promise<void> {
    const reply = this.#reply;
    if (!reply.open) return;
    if (this.#mode.kind === 'events' && this.#decoder !== null) {
      const rest = await this.#rewriteEvents(this.#decoder.decode(), true);
      if (rest !== '' && reply.open) reply.write(rest);
    }
    if (reply.open) reply.finish();
  }
}
