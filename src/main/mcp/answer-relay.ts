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
import type { AnswerHandler } from '../upstream/answer.js';
import { UpstreamSessionEndedError } from '../upstream/channel-transport.js';
import { rawFields } from '../upstream/headers.js';
import { GatewayError } from '../../protocol/errors.js';

/** How the answer must be handled, decided once its headers are known. */
export type AnswerMode =
  /** relay as it comes (whole bodies in one write, streams chunk by chunk) */
  | { readonly kind: 'relay' }
  /** collect the whole body, then hand it to `finish` (JSON list results) */
  | { readonly kind: 'collect'; readonly finish: (body: string) => Promise<Collected> }
  /** rewrite some events of an event stream; `rewrite` returns null to keep an event */
  | { readonly kind: 'events'; readonly rewrite: (event: SseEvent) => Promise<string | null> }
  /** refuse the answer (e.g. compressed when it must be filtered) */
  | { readonly kind: 'refuse'; readonly reason: string };

/** What a collected answer becomes: its body rewritten (null: as it came), and, when set, other
 * header fields in place of those onHead gave. */
export interface Collected {
  readonly body: string | null;
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

function isEventStream(headers: HeaderList): boolean {
  for (const [k, v] of headers) if (k === 'content-type') return v.startsWith('text/event-stream');
  return false;
}

export interface AnswerRelay {
  /** what the target's transport drives */
  readonly handler: AnswerHandler;
  /** resolves when the client's response is complete (or abandoned) */
  readonly done: Promise<void>;
  /** whether the answer's own head (its status and header fields, as onHead gave them) went to
   * the client: an error in its place (a failure, a refusal) does not count */
  readonly sentHead: () => boolean;
}

/** The handler relaying one answer to the client, and when it is done. */
export function answerRelay(call: AnswerRelayOptions): AnswerRelay {
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  return { ...relayHandler(call, resolveDone), done };
}

function relayHandler(call: AnswerRelayOptions, resolve: () => void): { readonly handler: AnswerHandler; readonly sentHead: () => boolean } {
  const { reply } = call;
  /** undici's abort for this request, once it has been queued */
  let abortRequest: ((err: Error) => void) | null = null;
  let abortSent = false;
  const abort = (err: Error): void => {
    if (abortRequest === null || abortSent) return;
    abortSent = true;
    abortRequest(err);
  };
  /** undici reads on when this is called after a chunk was refused (paused) */
  let resumeRead: (() => void) | null = null;
  let paused = false;
  const pause = (): void => {
    paused = true;
  };
  const resume = (): void => {
    if (!paused) return;
    paused = false;
    resumeRead?.();
  };
  let status = 0;
  let headers: HeaderList = [];
  let mode: AnswerMode = { kind: 'relay' };
  let streaming = false;
  /** the answer's own head went out */
  let headSent = false;
  let chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  /** the upstream's answer has fully arrived */
  let ended = false;
  // Event rewriting is asynchronous (the filter may run on a worker): chunks are handled in order.
  let queue: Promise<void> = Promise.resolve();
  let splitter: SseSplitter | null = null;
  let decoder: TextDecoder | null = null;

  /** bytes of the answer counted against the budget (held in `chunks` or being filtered) */
  let counted = 0;
  const giveBack = (): void => {
    call.held.give(counted);
    counted = 0;
  };
  const finish = (): void => {
    if (done) return;
    done = true;
    giveBack();
    resolve();
  };
  reply.onClose((aborted) => {
    if (aborted) {
      abort(new Error('client went away'));
      finish();
    }
  });
  const fail = (err: unknown): void => {
    // A filter that fails must not let the unfiltered answer through: an error in its place,
    // or, once the head is out, the response broken off. The client is answered before the
    // upstream call is aborted: aborting reports an error (onResponseError) at once.
    if (reply.open && !reply.headSent) call.onFilterFailure(err);
    else reply.destroy();
    finish();
    abort(err instanceof Error ? err : new Error(String(err)));
  };
  const collected = (): Buffer | null => {
    const all = chunks.length === 0 ? null : chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
    chunks = [];
    return all;
  };
  const pauseUntilDrained = (): void => {
    pause();
    reply.onDrain(resume);
  };
  const write = (chunk: Buffer | string): void => {
    if (!reply.write(chunk)) pauseUntilDrained();
  };
  /** The events of `text` (complete ones; with `end`, the rest too), each rewritten or as it came. */
  const rewriteEvents = async (text: string, end: boolean): Promise<string> => {
    if (mode.kind !== 'events' || splitter === null) return '';
    const events = splitter.push(text);
    if (end) {
      // An unterminated last event: a lenient client parser may still dispatch it, so it
      // goes through the filter like any other.
      const rest = splitter.rest();
      if (rest.trim() !== '') events.push(parseEventBlock(rest));
    }
    let out = '';
    for (const event of events) {
      const replaced = event.data === null ? null : await mode.rewrite(event);
      out += replaced ?? `${event.lines.join('\n')}\n\n`;
    }
    return out;
  };
  const rewriteChunk = (chunk: Buffer): void => {
    // undici hands over an empty chunk when resumed with nothing buffered: pausing and
    // resuming for it again would spin the event loop forever.
    if (decoder === null || chunk.byteLength === 0) return;
    pause();
    const text = decoder.decode(chunk, { stream: true });
    queue = queue
      .then(() => rewriteEvents(text, false))
      .then((out) => {
        // Read on only once the client takes more: a client that does not read must not
        // have the whole stream held for it.
        if (out !== '' && reply.open && !reply.write(out)) reply.onDrain(resume);
        else resume();
      }, fail);
  };

  // An answer that is still arriving after one turn of the event loop is streamed from then
  // on; one that has ended by then (most answers to a POST) leaves in one write.
  const startStream = (): void => {
    // Once the whole answer is in, it leaves in one write even if filtering it takes longer
    // than this turn (a worker): nothing is left to stream.
    if (streaming || ended || done || !reply.open) return;
    streaming = true;
    const first = collected();
    // From here on the answer is relayed as it comes, not held.
    giveBack();
    if (mode.kind === 'events') {
      headSent = true;
      reply.headStream(status, headers);
      if (first !== null) rewriteChunk(first);
    } else if (first !== null) {
      // Status, headers and what has arrived so far in one corked write.
      headSent = true;
      if (!reply.start(status, headers, first)) pauseUntilDrained();
    } else {
      headSent = true;
      if (isEventStream(headers)) reply.headStream(status, headers);
      else reply.head(status, headers);
    }
  };
  const sent = (answerStatus: number, fields: HeaderList, body: string | Buffer): void => {
    headSent = true;
    reply.send(answerStatus, fields, body);
  };
  const endWhole = async (): Promise<void> => {
    if (!reply.open) return;
    const body = collected() ?? Buffer.alloc(0);
    if (mode.kind === 'collect') {
      const rewritten = await mode.finish(body.toString('utf8'));
      if (rewritten.headers !== undefined) headers = rewritten.headers;
      sent(status, headers, rewritten.body ?? body);
    } else if (mode.kind === 'events') {
      const out = await rewriteEvents((decoder ?? new TextDecoder()).decode(body), true);
      if (reply.open) sent(status, headers, out);
    } else sent(status, headers, body);
  };
  const endStream = async (): Promise<void> => {
    if (!reply.open) return;
    if (mode.kind === 'events' && decoder !== null) {
      const rest = await rewriteEvents(decoder.decode(), true);
      if (rest !== '' && reply.open) reply.write(rest);
    }
    if (reply.open) reply.finish();
  };

  const handler: AnswerHandler = {
    onConnect(abortFn) {
      abortRequest = abortFn;
      if (!reply.open) abort(new Error('client went away'));
    },
    onHeaders(statusCode, rawHeaders, resumeFn) {
      if (statusCode < 200) return true; // 1xx: wait for the real answer
      resumeRead = resumeFn;
      status = statusCode;
      const head = call.onHead(statusCode, rawFields(rawHeaders));
      headers = head.headers;
      mode = head.mode;
      if (mode.kind === 'refuse') {
        abort(new Error(mode.reason));
        return false;
      }
      if (mode.kind === 'events') {
        splitter = new SseSplitter();
        decoder = new TextDecoder();
        setImmediate(startStream);
      } else if (mode.kind === 'relay' && isEventStream(headers)) setImmediate(startStream);
      return !paused;
    },
    onData(chunk) {
      if (!reply.open || done) return !paused;
      if (streaming) {
        if (mode.kind === 'events') rewriteChunk(chunk);
        else write(chunk);
        return !paused;
      }
      chunks.push(chunk);
      size += chunk.byteLength;
      const within = call.held.take(chunk.byteLength);
      if (within) counted += chunk.byteLength;
      if (mode.kind === 'collect') {
        if (size > maxCollectBytes) fail(new AnswerTooLargeError());
        // An answer to be filtered must be held whole: without room for it, it is refused.
        else if (!within) fail(new BufferBudgetError(call.held.limit));
      } else if (size > wholeBodyLimit || !within) startStream(); // no room to hold it: relay it as it comes
      return !paused;
    },
    onComplete() {
      ended = true;
      if (mode.kind === 'relay') {
        // Nothing is queued on a relayed answer: end it now, without a promise.
        try {
          if (reply.open) {
            if (streaming) reply.finish();
            else sent(status, headers, collected() ?? Buffer.alloc(0));
          }
          finish();
        } catch (err) {
          fail(err);
        }
        return;
      }
      queue = queue.then(() => (streaming ? endStream() : endWhole())).then(finish, fail);
    },
    onError(err) {
      if (done) return; // the client has had its answer (fail) or left
      if (mode.kind === 'refuse') call.onFailure(new Error(mode.reason));
      else if (status === 0 && reply.open) call.onFailure(err);
      else if (err instanceof UpstreamSessionEndedError && status !== 0) {
        // The upstream session is over: its stream ends as streams end, and the client learns
        // it must initialize again.
        handler.onComplete();
        return;
      } else {
        call.onBroken?.(err);
        reply.destroy();
      }
      finish();
    },
  };
  return { handler, sentHead: () => headSent };
}
