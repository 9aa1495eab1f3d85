// One request through the client, from dispatch to its end: its bytes, the handler its answer goes
// to, where it is (waiting for a connection, sent, its head in) and when things happened there
// (for the timeouts), and the abort handed to the handler. The handler hears onError or
// onComplete once, whichever comes first; nothing after.

import type { AnswerHandler } from '../answer.js';
import type { RequestBytes } from './request-head.js';

/** Where an exchange is, for whoever holds it: the pool's queue or a connection. */
export interface ExchangeHolder {
  /** Takes the exchange out (it was aborted): a connection carrying it is closed. */
  drop(ex: Exchange, err: Error): void;
}

export class Exchange {
  readonly handler: AnswerHandler;
  readonly request: RequestBytes;
  readonly abort: (err: Error) => void;
  holder: ExchangeHolder;
  /** the request is written (performance.now() ms); 0 before */
  sentAt = 0;
  /** its final (non-1xx) head is in */
  headed = false;
  /** the last time its body moved, or it was resumed */
  lastActivity = 0;
  #over = false;

  constructor(handler: AnswerHandler, request: RequestBytes, holder: ExchangeHolder) {
    this.handler = handler;
    this.request = request;
    this.holder = holder;
    this.abort = (err) => {
      if (this.#over) return;
      this.holder.drop(this, err);
      this.fail(err);
    };
  }

  get over(): boolean {
    return this.#over;
  }

  fail(err: Error): void {
    if (this.#over) return;
    this.#over = true;
    this.handler.onError(err);
  }

  complete(): void {
    if (this.#over) return;
    this.#over = true;
    this.handler.onComplete();
  }
}
