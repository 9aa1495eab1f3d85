// One MCP target of a route: its name, its transport, and the one place where what applies to
// every request it gets is applied — initialize, calls, list fan-out, GET streams, DELETE and
// the sessions the gateway ends itself: the header fields sent (the client's, minus hop-by-hop
// and the gateway's own; the session; credentials), and what one caller may hold of it.

import type { ParsedMessage } from '../../protocol/jsonrpc.js';
import { UpstreamFailure, type AnswerHandler, type RawHeaders } from './answer.js';
import type { CallerSlots } from './caller-slots.js';
import { upstreamRequestHeaders } from './headers.js';
import type { Transport } from './transport.js';

/** Who asks, and what of their request goes upstream. */
export interface CallerContext {
  /** the client's request header fields that may be forwarded (a consumed token's field removed) */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** `Authorization` to send, if any (passthrough, or a permissive route's untouched field) */
  readonly authorization: string | undefined;
  /** whom the per-caller limits count: the token's issuer and subject, or the client's address */
  readonly caller: string;
  /** who owns the sessions opened (sessionOwner; a hash, so computed only when a session opens) */
  readonly owner: () => string;
}

export interface TargetRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly sessionId: string | undefined;
  readonly body: Buffer | null;
  readonly message: ParsedMessage | null;
  /** GET: the Last-Event-ID to resume after; null sends none; absent forwards the client's */
  readonly lastEventId?: string | null;
}

export class UpstreamTarget {
  readonly name: string;
  readonly transport: Transport;
  readonly #slots: CallerSlots;

  constructor(name: string, transport: Transport, slots: CallerSlots) {
    this.name = name;
    this.transport = transport;
    this.#slots = slots;
  }

  /** Sends the request; its answer, or why there is none, goes to `answer`. Never throws. */
  send(ctx: CallerContext, req: TargetRequest, answer: AnswerHandler): void {
    const lease = this.#slots.acquire(this.transport.key, req.method === 'GET' ? 'streams' : 'calls', ctx.caller);
    if (lease instanceof UpstreamFailure) {
      refuse(answer, lease);
      return;
    }
    this.transport.send(
      { method: req.method, sessionId: req.sessionId, headers: this.#headers(ctx, req), body: req.body, message: req.message, owner: ctx.owner },
      releasing(answer, lease),
    );
  }

  /** Ends an upstream session the client will not use (or no longer can): best effort, not
   * counted against the caller, whose own requests it must not be refused for. Resolves once
   * the upstream has answered, or failed to. */
  endSession(ctx: CallerContext, sessionId: string): Promise<void> {
    const req: TargetRequest = { method: 'DELETE', sessionId, body: null, message: null };
    return new Promise((resolve) => {
      this.transport.send({ ...req, headers: this.#headers(ctx, req), owner: ctx.owner }, discarding(resolve));
    });
  }

  #headers(ctx: CallerContext, req: TargetRequest): Record<string, string> {
    const headers = upstreamRequestHeaders(ctx.headers, { sessionId: req.sessionId, authorization: ctx.authorization });
    if (req.lastEventId === null) delete headers['last-event-id'];
    else if (req.lastEventId !== undefined) headers['last-event-id'] = req.lastEventId;
    return headers;
  }
}

function refuse(answer: AnswerHandler, refusal: UpstreamFailure): void {
  answer.onConnect(() => {});
  answer.onError(refusal);
}

/** `answer`, giving the caller's slot back once the request is over, whichever way it ends. */
function releasing(answer: AnswerHandler, release: () => void): AnswerHandler {
  return {
    onConnect: (abort) => answer.onConnect(abort),
    onHeaders: (status: number, headers: RawHeaders, resume: () => void) => answer.onHeaders(status, headers, resume),
    onData: (chunk) => answer.onData(chunk),
    onComplete: () => {
      release();
      answer.onComplete();
    },
    onError: (err) => {
      release();
      answer.onError(err);
    },
  };
}

/** Reads an answer nobody waits for to its end, so its connection can serve the next request. */
function discarding(ended: () => void): AnswerHandler {
  return {
    onConnect: () => {},
    onHeaders: () => true,
    onData: () => true,
    onComplete: ended,
    onError: () => ended(),
  };
}
